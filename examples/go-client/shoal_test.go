package main

import (
	"encoding/json"
	"testing"
)

func TestNodeAskSubject(t *testing.T) {
	// Unpadded base64url of the UTF-8 node id, as src/nats-names.ts builds it.
	for node, want := range map[string]string{
		"node-1":    "shoal.bank.node.bm9kZS0x.ask",
		"nœud.3 ~ü": "shoal.bank.node.bsWTdWQuMyB-w7w.ask", // no padding; "-" where base64 has "+"
	} {
		if got := nodeAskSubject("bank", node); got != want {
			t.Errorf("nodeAskSubject(bank, %q) = %s, want %s", node, got, want)
		}
	}
}

func TestRouteByMap(t *testing.T) {
	c := NewClient(nil, "bank")
	if got := c.Route("account", "alice"); got != "shoal.bank.ask" {
		t.Errorf("without a map: %s, want the shared subject", got)
	}
	owners := make([]int, 1024)
	owners[434] = -1 // alice's shard (see the known answers) has no owner; every other is n2's
	for s := range owners {
		if s != 434 {
			owners[s] = 1
		}
	}
	m, err := decodeMap(mustJSON(t, shardMap{Version: 3, ShardCount: 1024, Nodes: []string{"n1", "n2"}, Owners: owners}))
	if err != nil {
		t.Fatal(err)
	}
	c.m = m
	if got := c.Route("account", "alice"); got != "shoal.bank.ask" {
		t.Errorf("unowned shard: %s, want the shared subject", got)
	}
	if got := c.Route("account", "bob"); got != nodeAskSubject("bank", "n2") {
		t.Errorf("bob: %s, want n2's subject", got)
	}
	for _, bad := range []string{`{"shardCount":2,"nodes":["a"],"owners":[0]}`, `{"shardCount":1,"nodes":["a"],"owners":[1]}`, `[]`} {
		if _, err := decodeMap([]byte(bad)); err == nil {
			t.Errorf("decodeMap(%s) accepted a malformed map", bad)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
