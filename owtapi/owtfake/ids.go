package owtfake

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// idSource makes room ObjectIds and stream ids. Not safe for concurrent
// use: the Server calls it with its lock held.
type idSource struct {
	rng     *rand.Rand
	machine [5]byte
	counter uint32
	last    [12]byte
}

// newIDSource seeds the generator; seed 0 means time based.
func newIDSource(seed int64) *idSource {
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	src := &idSource{rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))}
	for i := range src.machine {
		src.machine[i] = byte(src.rng.UintN(256))
	}
	src.counter = src.rng.Uint32N(1 << 22)
	return src
}

// objectID returns a new 24-hex ObjectId-like id (timestamp, machine,
// counter), strictly greater than every id returned before.
func (g *idSource) objectID(now time.Time) string {
	var id [12]byte
	binary.BigEndian.PutUint32(id[0:4], uint32(now.Unix()))
	copy(id[4:9], g.machine[:])
	g.counter++
	id[9], id[10], id[11] = byte(g.counter>>16), byte(g.counter>>8), byte(g.counter)
	if string(id[:]) <= string(g.last[:]) {
		id = g.last
		for i := len(id) - 1; i >= 0; i-- {
			id[i]++
			if id[i] != 0 {
				break
			}
		}
	}
	g.last = id
	return hex.EncodeToString(id[:])
}

// streamID returns a decimal id like Math.round(Math.random()*1e18): at
// most 18 digits, never zero.
func (g *idSource) streamID() string {
	for {
		v := math.Round(g.rng.Float64() * 1e18)
		if v >= 1 && v < 1e18 {
			return strconv.FormatUint(uint64(v), 10)
		}
	}
}

// chance reports true with probability p.
func (g *idSource) chance(p float64) bool {
	return p > 0 && g.rng.Float64() < p
}

// durationN returns a uniform duration in [0, d).
func (g *idSource) durationN(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(g.rng.Int64N(int64(d)))
}
