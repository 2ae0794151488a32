package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// watchEvent is what the benchmark reads of a watch event of a view or a BackupSession: the
// object's name and its sessions' (a view's backupSessions) or its own (a BackupSession's
// status) phase and duration. Decoding only these keeps the driver's CPU, which shares the
// machine with the servers measured, small next to theirs even with thousands of watches.
type watchEvent struct {
	Type   string `json:"type"`
	Object struct {
		Metadata struct {
			Name, Namespace, ResourceVersion string
		} `json:"metadata"`
		BackupSessions []sessionState `json:"backupSessions"`
		Status         sessionState   `json:"status"`
	} `json:"object"`
}

type sessionState struct {
	Name, Phase, Duration string
}

// rawWatch starts a watch of path (through kube-apiserver) from resourceVersion rv and calls
// f with every event and the time it was decoded, until the stream or ctx ends; done is
// closed then. It returns once the watch is established (200) or refused.
func (b *Bench) rawWatch(ctx context.Context, path string, q url.Values, f func(time.Time, *watchEvent)) (done <-chan struct{}, err error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("watch", "true")
	req, _ := http.NewRequestWithContext(ctx, "GET", b.kasURL+path+"?"+q.Encode(), nil)
	req.Header.Set("Accept", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return nil, fmt.Errorf("watch %s: status %d: %s", path, resp.StatusCode, body)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			var e watchEvent
			if err := dec.Decode(&e); err != nil {
				return
			}
			f(time.Now(), &e)
		}
	}()
	return ch, nil
}

// listRV is the resourceVersion of a one-item LIST of path: a watch from it sees every
// later change and no synthetic ADDED events for what exists.
func (b *Bench) listRV(ctx context.Context, path string, q url.Values) (string, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", "1")
	_, _, body, err := b.get(ctx, path+"?"+q.Encode(), "application/json", true)
	if err != nil {
		return "", err
	}
	var l struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return "", err
	}
	return l.Metadata.ResourceVersion, nil
}
