// Package e2e holds end-to-end tests: the built srs-owt-proxy, fake-srs and
// fake-owt binaries run as separate processes on 127.0.0.1 and are driven
// through their HTTP and control APIs.
package e2e
