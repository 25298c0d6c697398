package main

import "testing"

// The known answers of src/routing/shard-hash.ts: every client must agree with them.
func TestActorHashKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		typ, id string
		hash    uint32
		shard   int
	}{
		{"account", "alice", 0x758b81b2, 434},
		{"account", "bob", 0x71a1a92d, 301},
		{"account", "a.b*c>d e", 0x9aa520a4, 164},
		{"account", "ü", 0xb10dc53a, 314},
		{"account", "🐟 shoal", 0xbfb084b4, 180},
		{"t", "", 0x3a1eaaf6, 758},
	} {
		if h := actorHash(c.typ, c.id); h != c.hash {
			t.Errorf("actorHash(%q, %q) = %#08x, want %#08x", c.typ, c.id, h, c.hash)
		}
		if s := shardOf(c.typ, c.id, 1024); s != c.shard {
			t.Errorf("shardOf(%q, %q, 1024) = %d, want %d", c.typ, c.id, s, c.shard)
		}
	}
}

func TestMurmur3(t *testing.T) {
	for _, c := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"a", 0, 0x3c2569b2}, // tails of 1, 2, 3 bytes, one block, a block and a tail
		{"ab", 0, 0x9bbfd75f},
		{"abc", 0, 0xb3dd93fa},
		{"abcd", 0, 0x43ed676a},
		{"abcde", 0, 0xe89b9af6},
		{"hello", 0, 0x248bfa47},
		{"The quick brown fox jumps over the lazy dog", 0, 0x2e4ff723},
	} {
		if h := murmur3([]byte(c.in), c.seed); h != c.want {
			t.Errorf("murmur3(%q, %d) = %#08x, want %#08x", c.in, c.seed, h, c.want)
		}
	}
}
