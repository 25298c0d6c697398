package main

import (
	"encoding/binary"
	"math/bits"
)

// murmur3 is MurmurHash3_x86_32 (Austin Appleby, public domain) of data with seed: the hash
// Shoal places actors by. Defined in src/routing/shard-hash.ts; the tests check its vectors.
func murmur3(data []byte, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(data) &^ 3
	for i := 0; i < n; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k = bits.RotateLeft32(k*c1, 15) * c2
		h = bits.RotateLeft32(h^k, 13)*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) & 3 {
	case 3:
		k |= uint32(data[n+2]) << 16
		fallthrough
	case 2:
		k |= uint32(data[n+1]) << 8
		fallthrough
	case 1:
		k |= uint32(data[n])
		h ^= bits.RotateLeft32(k*c1, 15) * c2
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	return h ^ h>>16
}

// actorHash is the hash of actor (typ, id): MurmurHash3_x86_32 of UTF-8(typ + "\x00" + id), seed 0.
// Go strings are UTF-8 already.
func actorHash(typ, id string) uint32 {
	return murmur3([]byte(typ+"\x00"+id), 0)
}

// shardOf is the shard in [0, shardCount) that owns actor (typ, id).
func shardOf(typ, id string, shardCount int) int {
	return int(actorHash(typ, id) % uint32(shardCount))
}
