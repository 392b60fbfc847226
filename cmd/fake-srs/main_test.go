package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--vhost", "video.test.com"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "fake-srs listening on ")
	if !ok || !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("first line = %q", line)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Post("http://"+addr+"/control/publish", "application/json", strings.NewReader(`{"vhost":"video.test.com","app":"live","stream":"room3"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish = %d", resp.StatusCode)
	}
	c := srsapi.NewClient(srsapi.Config{Name: "fake-srs", BaseURL: "http://" + addr})
	snap, err := c.Snapshot(context.Background())
	if err != nil || len(snap.Streams) != 1 || snap.Streams[0].VhostName != "video.test.com" {
		t.Fatalf("snapshot = %+v, %v", snap, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if _, err := client.Get("http://" + addr + "/api/v1/versions"); err == nil {
		t.Error("server still answering after shutdown")
	}
}

func TestRunBadFlags(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"--nope"}, &out); err == nil {
		t.Error("unknown flag accepted")
	}
	if err := run(context.Background(), []string{"--listen", "256.0.0.1:1"}, &out); err == nil || !strings.Contains(err.Error(), "listen on 256.0.0.1:1") {
		t.Errorf("bad listen: %v", err)
	}
}
