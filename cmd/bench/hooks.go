package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

// benchHooks measures the p99 of on_publish answers at sc.Hooks concurrent
// hooks while OWT answers in rt, against a bare handler answering "0".
func benchHooks(ctx context.Context, sc scale, rt time.Duration, rep *report) error {
	e, err := newEnv(ctx, envConfig{})
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.start(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("hooks: agent start: %w", err)
	}
	if err := e.setLatency(ctx, rt); err != nil {
		return fmt.Errorf("hooks: %w", err)
	}

	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("hooks: bare listener: %w", err)
	}
	bare := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("0"))
	})}
	go func() { _ = bare.Serve(bareLn) }()
	defer bare.Close()
	bareURL := "http://" + bareLn.Addr().String() + "/api/v1/streams"

	// SRS opens a new connection for every hook.
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr}

	id, err := e.Fakes.srsIdentity(ctx)
	if err != nil {
		return fmt.Errorf("hooks: SRS ids for the hook bodies: %w", err)
	}
	var agentLat, bareLat []time.Duration
	// Round 0 warms both servers up and is not counted; rounds alternate
	// agent and bare so both see the same machine noise.
	for round := 0; round <= sc.HookRounds; round++ {
		bodies := make([][]byte, sc.Hooks)
		for i := range bodies {
			b, _ := json.Marshal(srsapi.Hook{ServerID: id.ServerID, ServiceID: id.ServiceID, Action: "on_publish",
				ClientID: fmt.Sprintf("c%d-%d", round, i), IP: "127.0.0.1", Vhost: "__defaultVhost__",
				App: fmt.Sprintf("hook-%d", i%sc.HookRooms), TcURL: "rtmp://127.0.0.1:1935/live",
				Stream: fmt.Sprintf("h%d-%d", round, i), StreamURL: fmt.Sprintf("/hook-%d/h%d-%d", i%sc.HookRooms, round, i),
				StreamID: fmt.Sprintf("vid-%d-%d", round, i)})
			bodies[i] = b
		}
		a, err := fire(ctx, client, e.hookURL, bodies)
		if err != nil {
			return fmt.Errorf("hooks: agent round %d: %w", round, err)
		}
		b, err := fire(ctx, client, bareURL, bodies)
		if err != nil {
			return fmt.Errorf("hooks: bare round %d: %w", round, err)
		}
		if round > 0 {
			agentLat = append(agentLat, a...)
			bareLat = append(bareLat, b...)
		}
	}
	pa, pb := percentile(agentLat, 0.99), percentile(bareLat, 0.99)
	ratio := float64(pa) / float64(pb)
	rep.add(figure{Key: "hook_p99_ratio", Kind: kindRatio, Name: "hook answer p99", RT: rt.String(),
		Floor: "bare p99 " + ms(pb), Measured: "agent p99 " + ms(pa), Value: ratio, Target: "<= 1.5", Met: ratio <= 1.5})
	rep.detail("hooks", map[string]any{
		"round_trip_ms": msf(rt), "concurrent": sc.Hooks, "rounds": sc.HookRounds, "samples": len(agentLat),
		"agent_p50_ms": msf(percentile(agentLat, 0.5)), "agent_p99_ms": msf(pa), "agent_max_ms": msf(percentile(agentLat, 1)),
		"bare_p50_ms": msf(percentile(bareLat, 0.5)), "bare_p99_ms": msf(pb), "bare_max_ms": msf(percentile(bareLat, 1)),
	})
	return nil
}

// fire posts every body at once, one goroutine and connection each, and
// returns each answer's latency. Every answer must be one SRS accepts.
func fire(ctx context.Context, c *http.Client, url string, bodies [][]byte) ([]time.Duration, error) {
	lat := make([]time.Duration, len(bodies))
	errs := make([]error, len(bodies))
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", srsfake.UserAgent)
			<-gate
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			answer, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			lat[i] = time.Since(start)
			if err == nil {
				err = srsfake.CheckHookAnswer(resp.StatusCode, answer)
			}
			errs[i] = err
		}()
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("hook %d to %s: %w", i, url, err)
		}
	}
	return lat, nil
}

// percentile returns the q-quantile (nearest rank) of d; q=1 is the max.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*q+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// median is the 0.5 quantile.
func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", msf(d)) }

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
