package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/status"
)

// defaultStatusURL is agent.metrics_listen's example address.
const defaultStatusURL = "http://127.0.0.1:9108"

// fetchStatus reads GET <url>/status of a running agent.
func fetchStatus(ctx context.Context, base string) ([]byte, *status.Report, error) {
	u := strings.TrimRight(base, "/") + "/status"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("--url %q: %w", base, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w (is the agent running, and is --url its agent.metrics_listen?)", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(body[:min(len(body), 200)])))
	}
	var r status.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, nil, fmt.Errorf("GET %s: not a status document (an older agent?): %w", u, err)
	}
	if r.Status == nil {
		return nil, nil, fmt.Errorf("GET %s: not a status document", u)
	}
	return body, &r, nil
}

func cmdStatus(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	def := defaultStatusURL
	if v := getenv("SRS_OWT_STATUS_URL"); v != "" {
		def = v
	}
	url := fs.String("url", def, "base URL of the agent's agent.metrics_listen")
	var output string
	fs.StringVar(&output, "output", "table", "table or json")
	fs.StringVar(&output, "o", "table", "short for --output")
	if !parse(fs, args, stderr) {
		return exitError
	}
	if output != "table" && output != "json" {
		fmt.Fprintf(stderr, "status: --output %q: want table or json\n", output)
		return exitError
	}
	body, r, err := fetchStatus(context.Background(), *url)
	if err != nil {
		fmt.Fprintln(stderr, "status:", err)
		return exitError
	}
	if output == "json" {
		var b bytes.Buffer
		if err := json.Indent(&b, body, "", "  "); err != nil {
			fmt.Fprintln(stderr, "status:", err)
			return exitError
		}
		_, _ = b.WriteTo(stdout)
		if !bytes.HasSuffix(body, []byte("\n")) {
			fmt.Fprintln(stdout)
		}
		return exitOK
	}
	if err := status.WriteTable(stdout, r); err != nil {
		fmt.Fprintln(stderr, "status:", err)
		return exitError
	}
	return exitOK
}
