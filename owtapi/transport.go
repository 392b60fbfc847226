package owtapi

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// buildTransport returns the RoundTripper for cfg: cfg.Transport if set
// (with TLS options applied when it is an *http.Transport), else a pooled
// transport sized for many concurrent calls to one OWT.
func buildTransport(cfg Config) (http.RoundTripper, error) {
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Transport != nil {
		if t, ok := cfg.Transport.(*http.Transport); ok && tlsCfg != nil {
			t = t.Clone()
			t.TLSClientConfig = tlsCfg
			return t, nil
		}
		return cfg.Transport, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.TLSClientConfig = tlsCfg
	return t, nil
}

// tlsConfig returns nil when cfg has no TLS options.
func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.CAFile == "" && !cfg.InsecureSkipVerify {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // explicit operator choice
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("owt: read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("owt: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
