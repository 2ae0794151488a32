package viewcache

import "strconv"

// The resourceVersion rule (docs/design.md, "resourceVersions"):
//
//   - A source change at etcd revision r that affects the sorted keys k0 < k1 < ... gives view
//     ki the candidate version r*Stride + i: derived from the sources alone, so replicas that
//     see the same change agree, however they batch their rebuilds.
//   - A published change gets its candidate, or one more than the last published version when
//     the candidate is not greater (a deletion seen only through a relist, a target kind whose
//     informer synced late, an index past Stride): every published change has a version
//     strictly greater than every earlier one, so a watch resumed from any version neither
//     skips nor repeats.
//   - The first build is published at floor = (L+1)*Stride - 1 or higher, L being the highest
//     revision the source informers had listed: a watch resumed from a version below it comes
//     from before this process could see (another process, or before a restart) and gets 410.

// Stride is how many view changes one source revision can name apart.
const Stride = 100000

// cause is the source change that dirtied a view: its revision and the view's index among
// the keys it affected.
type cause struct {
	rv  uint64
	idx uint64
}

func (c cause) candidate() uint64 {
	i := c.idx
	if i >= Stride {
		i = Stride - 1
	}
	return c.rv*Stride + i
}

func (c cause) after(o cause) bool { return c.rv > o.rv || c.rv == o.rv && c.idx > o.idx }

// floorOf is the lowest version the first build may carry, given the highest revision the
// sources have listed.
func floorOf(listed uint64) uint64 { return (listed+1)*Stride - 1 }

func formatRV(rv uint64) string { return strconv.FormatUint(rv, 10) }
