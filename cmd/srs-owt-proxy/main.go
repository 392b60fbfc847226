// Command srs-owt-proxy makes every stream published to SRS appear in the
// right OWT room, mixed into the room's views, and cleans up when it stops.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}
