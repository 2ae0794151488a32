// Package access answers one question: what may the caller of a request see? Views and
// preview warnings join objects from other namespaces; what the caller could not read there
// themselves is not shown to them (docs/design.md, "Authorization follows the caller").
//
// The answer comes from the delegated authorizer (a SubjectAccessReview to kube-apiserver,
// which also allows system:masters at once), asked per resource and namespace, never per
// object: "may this user get backupstorages in namespace X".
package access

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Options tune a Checker; zero values take the defaults.
type Options struct {
	// TTL is how long a decision is reused (default 10 s, as the delegated authorizer's own
	// cache): a revoked RoleBinding takes effect within it.
	TTL time.Duration
	// MaxEntries bounds the shared decision cache (default 10,000).
	MaxEntries int
	// Resource maps a target kind to its resource name (plural). Nil, or not ok: the
	// resource is guessed from the kind (MongoDB -> mongodbs), which at worst asks about a
	// resource nobody is granted, and so hides the target.
	Resource func(schema.GroupKind) (resource string, ok bool)
	// Now is the clock (tests).
	Now func() time.Time
}

// Checker asks the authorizer and caches its decisions for all requests.
type Checker struct {
	authz    authorizer.Authorizer
	ttl      time.Duration
	max      int
	resource func(schema.GroupKind) (string, bool)
	now      func() time.Time

	mu    sync.Mutex
	cache map[key]decision
}

// key is one question of one user. The user part covers everything an authorizer may look
// at (name, UID, groups, extra), so two users never share a decision.
type key struct {
	user                      string
	verb, group, resource, ns string
}

type decision struct {
	allowed bool
	reason  string // why not, for the caller: "you cannot get backupstorages in namespace X"
	expires time.Time
}

// New returns a Checker over the server's authorizer (the generic config's
// Authorization.Authorizer). A nil authorizer allows nothing outside the view's namespace.
func New(a authorizer.Authorizer, o Options) *Checker {
	c := &Checker{authz: a, ttl: o.TTL, max: o.MaxEntries, resource: o.Resource, now: o.Now, cache: map[key]decision{}}
	if c.ttl <= 0 {
		c.ttl = 10 * time.Second
	}
	if c.max <= 0 {
		c.max = 10000
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Caller is the caller of one request. Within it each distinct (group, resource, namespace)
// is asked at most once: a GET or LIST keeps the decisions it took for its whole (short)
// life, a watch renews them every TTL, so a revoked binding reaches open watches too. Safe
// for concurrent use.
type Caller struct {
	c       *Checker
	ctx     context.Context
	user    user.Info // nil: no authenticated user, nothing outside the namespace is shown
	userKey string
	renew   bool // a watch (or a request of unknown kind): decisions expire
	budget  int  // > 0: at most this many distinct questions (Limit)

	mu   sync.Mutex
	memo map[rkey]decision
	// Redacted single-entry lists, shared by the views that reference the same object (one
	// backend is the common case): a LIST of 10,000 restricted views copies only the views.
	storageLists map[rkey][]ui.BackupStorageRef
	policyLists  map[rkey][]ui.RetentionPolicyRef
}

type rkey struct{ group, resource, ns string }

// For returns the caller of the request ctx belongs to.
func (c *Checker) For(ctx context.Context) *Caller {
	a := &Caller{c: c, ctx: ctx, renew: true}
	if ri, ok := genericapirequest.RequestInfoFrom(ctx); ok && (ri.Verb == "get" || ri.Verb == "list") {
		a.renew = false
	}
	if u, ok := genericapirequest.UserFrom(ctx); ok && u != nil {
		a.user, a.userKey = u, userKey(u)
	}
	return a
}

func userKey(u user.Info) string {
	var b strings.Builder
	b.WriteString(u.GetName())
	b.WriteByte(0)
	b.WriteString(u.GetUID())
	for _, g := range u.GetGroups() {
		b.WriteByte(0)
		b.WriteString(g)
	}
	if extra := u.GetExtra(); len(extra) > 0 {
		ks := make([]string, 0, len(extra))
		for k := range extra {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			b.WriteByte(1)
			b.WriteString(k)
			for _, v := range extra[k] {
				b.WriteByte(0)
				b.WriteString(v)
			}
		}
	}
	return b.String()
}

// Denied is the reason given when the caller may not get a resource in a namespace.
func Denied(group, resource, ns string) string {
	if ns == "" {
		return fmt.Sprintf("you cannot get %s (cluster-scoped)", printResource(group, resource))
	}
	return fmt.Sprintf("you cannot get %s in namespace %s", printResource(group, resource), ns)
}

// printResource names a resource as kubectl does, with its group unless it is a core or
// KubeStash kind (whose plain names are unambiguous to a backup console's users).
func printResource(group, resource string) string {
	if group == "" || strings.HasSuffix(group, ".kubestash.com") {
		return resource
	}
	return resource + "." + group
}

// MayGet reports whether the caller may get objects of group/resource in namespace ns;
// when not, reason says why, in words fit for a warning or a view's restricted field.
func (a *Caller) MayGet(group, resource, ns string) (ok bool, reason string) {
	k := rkey{group, resource, ns}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mayGet(k)
}

// Limit bounds the distinct questions of this caller to n; beyond, the answer is no. A
// preview names its namespaces itself (one per encryption Secret): without a bound one
// request could make backupview send thousands of SubjectAccessReviews.
func (a *Caller) Limit(n int) *Caller {
	a.budget = n
	return a
}

// mayGet is MayGet with a.mu held.
func (a *Caller) mayGet(k rkey) (bool, string) {
	d, hit := a.memo[k]
	if hit && !a.renew {
		return d.allowed, d.reason // the clock is read only to take a decision (LIST path)
	}
	if !hit && a.budget > 0 && len(a.memo) >= a.budget {
		return false, fmt.Sprintf("not checked: too many namespaces in one request (access is checked for at most %d)", a.budget)
	}
	now := a.c.now()
	if hit && now.Before(d.expires) {
		return d.allowed, d.reason
	}
	old := d
	d = a.c.decide(a, k, now)
	if hit && (old.allowed != d.allowed || old.reason != d.reason) {
		a.storageLists, a.policyLists = nil, nil // they hold the old reason
	}
	if a.memo == nil {
		a.memo = make(map[rkey]decision, 4)
	}
	a.memo[k] = d
	return d.allowed, d.reason
}

// MayGetKind is MayGet for a kind (a target's), mapped to its resource.
func (a *Caller) MayGetKind(group, kind, ns string) (ok bool, reason string) {
	k := a.kindKey(group, kind, ns)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mayGet(k)
}

func (a *Caller) kindKey(group, kind, ns string) rkey {
	group = kubestash.NormalizeGroup(group)
	return rkey{group, a.c.resourceOf(schema.GroupKind{Group: group, Kind: kind}), ns}
}

func (c *Checker) resourceOf(gk schema.GroupKind) string {
	if c.resource != nil {
		if r, ok := c.resource(gk); ok && r != "" {
			return r
		}
	}
	plural, _ := meta.UnsafeGuessKindToResource(gk.WithVersion(""))
	return plural.Resource
}

// decide answers from the shared cache, or asks the authorizer. An authorizer error hides
// the objects for this request and is not cached beyond it.
func (c *Checker) decide(a *Caller, k rkey, now time.Time) decision {
	denied := decision{reason: Denied(k.group, k.resource, k.ns), expires: now.Add(c.ttl)}
	if a.user == nil || c.authz == nil {
		return denied
	}
	ck := key{user: a.userKey, verb: "get", group: k.group, resource: k.resource, ns: k.ns}
	c.mu.Lock()
	d, hit := c.cache[ck]
	c.mu.Unlock()
	if hit && now.Before(d.expires) {
		return d
	}
	dec, _, err := c.authz.Authorize(a.ctx, authorizer.AttributesRecord{
		User: a.user, Verb: "get", APIGroup: k.group, Resource: k.resource, Namespace: k.ns, ResourceRequest: true,
	})
	switch {
	case dec == authorizer.DecisionAllow:
		d = decision{allowed: true, expires: now.Add(c.ttl)}
	case err != nil:
		d = denied
		d.reason = fmt.Sprintf("cannot tell whether you can get %s in namespace %s", printResource(k.group, k.resource), k.ns)
		return d
	default:
		d = denied
	}
	c.mu.Lock()
	c.store(ck, d, now)
	c.mu.Unlock()
	return d
}

// store adds a decision, keeping the cache within its bound: expired entries go first,
// then arbitrary ones (map order) until a quarter is free.
func (c *Checker) store(k key, d decision, now time.Time) {
	if len(c.cache) >= c.max {
		for ek, e := range c.cache {
			if !now.Before(e.expires) {
				delete(c.cache, ek)
			}
		}
		for ek := range c.cache {
			if len(c.cache) < c.max*3/4 {
				break
			}
			delete(c.cache, ek)
		}
	}
	c.cache[k] = d
}

// Len is the number of cached decisions (tests, metrics).
func (c *Checker) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cache)
}
