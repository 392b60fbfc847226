// Package srsfake is an in-memory SRS 6 for tests and the demo. It serves the
// HTTP API shapes of the real captures in srsapi/testdata (trailing-slash
// 302s, page size max(10,count), lists ordered by random stream id, vhost ids
// that change on restart) and posts on_publish/on_unpublish hooks with the
// exact bytes, headers and acceptance rules of SRS 6.0.157. A control API
// under /control/ drives it with curl (see README.md).
package srsfake
