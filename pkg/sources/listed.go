package sources

import "strconv"

// ListedResourceVersion is the highest resourceVersion any source (its reflector) or target
// informer has listed or watched up to: the view cache's first build vouches for nothing older (docs/design.md,
// "resourceVersions").
func (s *Sources) ListedResourceVersion() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var hw uint64
	see := func(rv string) {
		if n, err := strconv.ParseUint(rv, 10, 64); err == nil && n > hw {
			hw = n
		}
	}
	for _, k := range s.kinds {
		if k.running {
			see(k.reflector.LastSyncResourceVersion())
		}
	}
	for _, t := range s.targets {
		if t.informer != nil {
			see(t.informer.LastSyncResourceVersion())
		}
	}
	return hw
}
