package main

// shoal.go and murmur3.go are the part to copy into your own program: a client of Shoal's
// ingress (README, "Talking to actors from any language") that follows the cluster's shard map
// and sends each call straight to the node that owns the actor.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// Error is a call the cluster answered with {"ok": false, "error": {"code", "message"}}.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// shardMap is the leader's map, as stored under key "map" of bucket shoal-map-<cluster>.
// Shard s is owned by Nodes[Owners[s]], by none while Owners[s] is -1.
type shardMap struct {
	Version    uint64   `json:"version"`
	Epoch      uint64   `json:"epoch"`
	ShardCount int      `json:"shardCount"`
	Nodes      []string `json:"nodes"`
	Owners     []int    `json:"owners"`
}

func decodeMap(data []byte) (*shardMap, error) {
	var m shardMap
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("malformed shard map: %w", err)
	}
	if m.ShardCount <= 0 || len(m.Owners) != m.ShardCount {
		return nil, fmt.Errorf("malformed shard map: %d owners for %d shards", len(m.Owners), m.ShardCount)
	}
	for _, o := range m.Owners {
		if o < -1 || o >= len(m.Nodes) {
			return nil, fmt.Errorf("malformed shard map: owner index %d of %d nodes", o, len(m.Nodes))
		}
	}
	return &m, nil
}

// Client calls actors through the ingress of one cluster, routing by its shard map.
type Client struct {
	nc      *nats.Conn
	cluster string
	shared  string // shoal.<cluster>.ask: any node takes it (queue group) and routes it on
	// Timeout bounds each call (sent as timeoutMs; NATS waits a second longer for the answer).
	Timeout time.Duration

	mu    sync.RWMutex
	m     *shardMap
	ready chan struct{} // closed when the first map arrives
	stop  chan struct{}
	once  sync.Once
}

// NewClient makes a client of cluster; call Follow to route by the map (without it every call
// goes through the shared subject, one hop more).
func NewClient(nc *nats.Conn, cluster string) *Client {
	return &Client{
		nc:      nc,
		cluster: cluster,
		shared:  "shoal." + cluster + ".ask",
		Timeout: 10 * time.Second,
		ready:   make(chan struct{}),
		stop:    make(chan struct{}),
	}
}

// Follow watches the map in the background until Close. While there is none (no bucket yet,
// no JetStream permission) calls use the shared subject; the watch is retried, every 1 s to 30 s.
func (c *Client) Follow() {
	go func() {
		backoff := time.Second
		for {
			if c.watch() {
				backoff = time.Second
			}
			select {
			case <-c.stop:
				return
			case <-time.After(backoff):
			}
			if backoff *= 2; backoff > 30*time.Second {
				backoff = 30 * time.Second
			}
		}
	}()
}

// watch follows key "map" until the watch ends; reports whether it applied a map.
func (c *Client) watch() (applied bool) {
	js, err := c.nc.JetStream()
	if err != nil {
		return false
	}
	kv, err := js.KeyValue("shoal-map-" + c.cluster)
	if err != nil {
		return false
	}
	w, err := kv.Watch("map")
	if err != nil {
		return false
	}
	defer w.Stop()
	for {
		select {
		case <-c.stop:
			return applied
		case e, ok := <-w.Updates():
			if !ok {
				return applied
			}
			if e == nil || e.Operation() != nats.KeyValuePut {
				continue // nil: the current value has been delivered
			}
			m, err := decodeMap(e.Value())
			if err != nil {
				continue // keep routing by the last map
			}
			c.mu.Lock()
			if c.m == nil || m.Version >= c.m.Version {
				c.m = m
			}
			c.mu.Unlock()
			c.once.Do(func() { close(c.ready) })
			applied = true
		}
	}
}

// WaitMap waits up to d for the first map; reports whether one has arrived.
func (c *Client) WaitMap(d time.Duration) bool {
	select {
	case <-c.ready:
		return true
	case <-time.After(d):
		return false
	}
}

// Close stops following the map.
func (c *Client) Close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
}

// Owner is the node that owns actor (typ, id) by the newest map, and its shard (-1 without a
// map); ok is false without a map or while the shard has no owner.
func (c *Client) Owner(typ, id string) (node string, shard int, ok bool) {
	c.mu.RLock()
	m := c.m
	c.mu.RUnlock()
	if m == nil {
		return "", -1, false
	}
	shard = shardOf(typ, id, m.ShardCount)
	if o := m.Owners[shard]; o >= 0 {
		return m.Nodes[o], shard, true
	}
	return "", shard, false
}

// nodeAskSubject is shoal.<cluster>.node.<base64url-unpadded(UTF-8(node))>.ask: one node's own ingress.
func nodeAskSubject(cluster, node string) string {
	return "shoal." + cluster + ".node." + base64.RawURLEncoding.EncodeToString([]byte(node)) + ".ask"
}

// Route is the subject a call to (typ, id) goes to first: its owner's node, else the shared one.
func (c *Client) Route(typ, id string) string {
	if node, _, ok := c.Owner(typ, id); ok {
		return nodeAskSubject(c.cluster, node)
	}
	return c.shared
}

type request struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Msg       any    `json:"msg"`
	TimeoutMs int64  `json:"timeoutMs"`
}

// Ask sends msg to actor (typ, id) and returns its reply and the subject that answered.
func (c *Client) Ask(typ, id string, msg any) (reply json.RawMessage, via string, err error) {
	if !utf8.ValidString(id) {
		return nil, "", &Error{Code: "BAD_REQUEST", Message: "an id must be valid UTF-8"}
	}
	body, err := json.Marshal(request{Type: typ, ID: id, Msg: msg, TimeoutMs: c.Timeout.Milliseconds()})
	if err != nil {
		return nil, "", err
	}
	via = c.Route(typ, id)
	res, err := c.nc.Request(via, body, c.Timeout+time.Second)
	if errors.Is(err, nats.ErrNoResponders) && via != c.shared {
		// Nothing received it (the owner's node is gone): safe to resend, through any node,
		// which routes it to the current owner. A timeout is never resent: the call may have
		// been applied.
		via = c.shared
		res, err = c.nc.Request(via, body, c.Timeout+time.Second)
	}
	if err != nil {
		return nil, via, err
	}
	var answer struct {
		OK    bool            `json:"ok"`
		Reply json.RawMessage `json:"reply"`
		Error *Error          `json:"error"`
	}
	if err := json.Unmarshal(res.Data, &answer); err != nil {
		return nil, via, fmt.Errorf("unreadable answer from %s: %w", via, err)
	}
	if !answer.OK {
		if answer.Error == nil {
			answer.Error = &Error{Code: "INTERNAL", Message: "an answer with neither reply nor error"}
		}
		return nil, via, answer.Error
	}
	return answer.Reply, via, nil
}
