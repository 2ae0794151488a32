package viewcache

import (
	"hash/fnv"
	"strconv"
)

// The resourceVersion rule (docs/design.md, "resourceVersions"):
//
//   - An object whose newest change came from etcd revision r (the revision of the source
//     change that dirtied it, or the newest source object it reflects, whichever is higher)
//     has the candidate version r*Stride + h, h a hash of its namespace/name below Stride: a
//     function of the sources and the key alone, so replicas agree however they batch their
//     rebuilds, and a replica's first build agrees with the events another one published.
//   - A published change gets its candidate, or one more than the last published version when
//     the candidate is not greater (a deletion seen only through a relist, a target kind whose
//     informer synced late, two objects of one change whose hashes collide): every published
//     change has a version strictly greater than every earlier one, so a watch resumed from
//     any version neither skips nor repeats.
//   - The first build is published at floor = (L+1)*Stride - 1 or higher, L being the highest
//     revision the source informers had listed: a watch resumed from a version below it comes
//     from before this process could see (another process, or before a restart) and gets 410.

// Stride is how many object versions one source revision spans.
const Stride = 1000000

// candidate is the version of the object key whose newest change came from revision rv.
func candidate(rv uint64, key string) uint64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return rv*Stride + uint64(h.Sum32()%Stride)
}

// floorOf is the lowest version the first build may carry, given the highest revision the
// sources have listed.
func floorOf(listed uint64) uint64 { return (listed+1)*Stride - 1 }

func formatRV(rv uint64) string { return strconv.FormatUint(rv, 10) }
