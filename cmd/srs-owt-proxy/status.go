package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

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

func (c *cli) statusCmd() *cobra.Command {
	var url, output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running agent's view: sources, rooms, streams in view, held operations",
		Long: `Reads GET <url>/status from a running agent (its agent.metrics_listen) and prints it as a table:
the SRS and OWT readings and their age, the state file and the policy, then one row per stream
of each room (desired, in OWT, in view) with its planned or held operations. The same document
is an HTML page at <url>/status/.`,
		Example: `  srs-owt-proxy status
  srs-owt-proxy status --url http://10.0.0.7:9108 -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return c.fail(cmd, fmt.Errorf("--output %q: want table or json", output))
			}
			body, r, err := fetchStatus(cmd.Context(), url)
			if err != nil {
				return c.fail(cmd, err)
			}
			if output == "json" {
				var b bytes.Buffer
				if err := json.Indent(&b, body, "", "  "); err != nil {
					return c.fail(cmd, err)
				}
				if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
					b.WriteByte('\n')
				}
				_, _ = b.WriteTo(c.stdout)
				return nil
			}
			if err := status.WriteTable(c.stdout, r); err != nil {
				return c.fail(cmd, err)
			}
			return nil
		},
	}
	def := defaultStatusURL
	if v := c.getenv("SRS_OWT_STATUS_URL"); v != "" {
		def = v
	}
	cmd.Flags().StringVar(&url, "url", def, "base URL of the agent's agent.metrics_listen ($SRS_OWT_STATUS_URL)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
