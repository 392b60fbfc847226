// Package srsapi is the SRS side of the agent: a client for SRS's HTTP API
// (/api/v1/streams/, /vhosts/, /versions, /summaries), the hook payloads SRS 6
// posts (on_publish, on_unpublish, on_play, on_stop), the exact reply bytes SRS
// accepts, and the HTTP handler that receives hooks.
package srsapi
