package render

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"strings"
	"unicode/utf8"
)

// A params text is refused for its shape (anchors, a list at the top, depth, number of values)
// long before decoding it could be: decoding 256 KiB of tiny items costs ~47 MiB of
// allocations (goyaml's node tree, then JSON twice) only to be refused. scanShape learns the
// shape with one pass over the bytes, allocating only a hash per mapping key.
//
// The scanner models the YAML that task parameters are written in: block and flow
// collections, plain, quoted and block scalars, comments, string keys. For anything else
// (tags, directives, complex keys, keys that YAML 1.1 resolves to non-strings, duplicate keys,
// tabs, a second document, ...) it answers "unknown" and the decoder decides, as before,
// behind the heavy gate. For a text the decoder accepts, a known shape is exactly what the
// decoded object has, so every answer stays the same (FuzzScanAgreesWithDecoder).

// shape is what scanShape learns about a params text without decoding it.
type shape struct {
	anchor bool // an anchor or alias; scanning stopped there
	top    byte // 'm' a mapping, 'l' a list, 's' anything else
	depth  int  // as depth counts it: the top-level object is 1
	values int  // as countValues counts them
}

// maxScanDepth: deeper nesting is left to the decoder (it stops at 10,000 levels, cheaply,
// with its own message).
const maxScanDepth = 1000

type scanBail struct{}
type scanAnchor struct{}

var scanSeed = maphash.MakeSeed()

// scanShape scans params (JSON) or paramsText (YAML or JSON); ok is false when the text is
// outside what the scanner models.
func scanShape(data []byte, isText bool) (shape, bool) {
	if json.Valid(data) {
		return scanJSON(data)
	}
	if !isText {
		return shape{}, false
	}
	return scanYAML(data)
}

// keySet detects repeated keys per mapping by hash; a collision only makes the scan give up.
type keySet struct {
	m    map[uint64]struct{}
	maps uint64
}

func (k *keySet) newMap() uint64 { k.maps++; return k.maps }

// add reports false for a key seen before in the same mapping.
func (k *keySet) add(id uint64, key []byte) bool {
	if k.m == nil {
		k.m = map[uint64]struct{}{}
	}
	h := maphash.Bytes(scanSeed, key) ^ (id * 0x9E3779B97F4A7C15)
	if _, dup := k.m[h]; dup {
		return false
	}
	k.m[h] = struct{}{}
	return true
}

// scanJSON scans valid JSON. A key with an escape or invalid UTF-8 could equal another once
// decoded, and a repeated key keeps only its last value: both give up.
func scanJSON(d []byte) (shape, bool) {
	var sh shape
	type frame struct {
		obj bool
		id  uint64
	}
	var stack []frame
	var keys keySet
	expectKey := false
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			continue
		case ',':
			expectKey = stack[len(stack)-1].obj
			continue
		case '}', ']':
			stack = stack[:len(stack)-1]
			continue
		}
		if sh.top == 0 {
			switch c {
			case '{':
				sh.top = 'm'
			case '[':
				sh.top = 'l'
			default:
				sh.top = 's'
			}
		}
		if c == '"' {
			j := i + 1
			for d[j] != '"' {
				if d[j] == '\\' {
					j++
				}
				j++
			}
			if expectKey {
				key := d[i+1 : j]
				if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) || !keys.add(stack[len(stack)-1].id, key) {
					return shape{}, false
				}
				expectKey = false
				i = j
				continue
			}
			i = j
		}
		sh.values++
		switch c {
		case '{', '[':
			f := frame{obj: c == '{'}
			if f.obj {
				f.id = keys.newMap()
			}
			stack = append(stack, f)
			if len(stack) > maxScanDepth {
				return shape{}, false
			}
			sh.depth = max(sh.depth, len(stack))
			expectKey = f.obj
		case '"':
		default: // a number, true, false or null
			for i+1 < len(d) && strings.IndexByte(" \t\n\r,:]}", d[i+1]) < 0 {
				i++
			}
		}
	}
	return sh, true
}

// yamlScan is the YAML scanner's state. Whitespace is only ' ' and '\n': texts with tabs or
// CRs are not modelled.
type yamlScan struct {
	d    []byte
	i    int // position
	ls   int // start of the line that holds i
	sh   shape
	keys keySet
	buf  []byte
}

var (
	yamlUnmodelled = [][]byte{
		[]byte("\t"), []byte("\r"),
		{0xEF, 0xBB, 0xBF},                                   // byte order mark
		{0xC2, 0x85}, {0xE2, 0x80, 0xA8}, {0xE2, 0x80, 0xA9}, // YAML 1.1 line breaks: NEL, LS, PS
	}
)

func scanYAML(d []byte) (sh shape, ok bool) {
	for _, u := range yamlUnmodelled {
		if bytes.Contains(d, u) {
			return shape{}, false
		}
	}
	s := &yamlScan{d: d}
	defer func() {
		switch r := recover(); r.(type) {
		case nil:
		case scanBail:
			sh, ok = shape{}, false
		case scanAnchor:
			sh, ok = shape{anchor: true}, true
		default:
			panic(r)
		}
	}()
	s.document()
	return s.sh, true
}

func bail() { panic(scanBail{}) }

func (s *yamlScan) document() {
	// A leading "---" alone on its line starts the only document.
	var next int
	if bytes.HasPrefix(s.d, []byte("---")) && s.blankAt(3) {
		s.i = 3
		next = s.endLine()
	} else {
		next = s.nextLine()
	}
	if next < 0 {
		s.sh.top = 's' // comments only: null
		return
	}
	kind, next := s.blockNode(-1, 1, false)
	s.sh.top = kind
	if next >= 0 {
		bail() // content after the top-level node
	}
}

func (s *yamlScan) at(c byte) bool { return s.i < len(s.d) && s.d[s.i] == c }

// blankAt: a space, a line break or the end at j.
func (s *yamlScan) blankAt(j int) bool { return j >= len(s.d) || s.d[j] == ' ' || s.d[j] == '\n' }

func flowIndicator(c byte) bool { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}' }

func (s *yamlScan) spaces() {
	for s.at(' ') {
		s.i++
	}
}

// count records a node at level (collections set the depth).
func (s *yamlScan) count(level int, collection bool) {
	s.sh.values++
	if collection {
		if level > maxScanDepth {
			bail()
		}
		s.sh.depth = max(s.sh.depth, level)
	}
}

// nextLine moves from a line break (or the end, or a line's start) to the first character of
// the next line with content, skipping blank and comment lines, and returns its indentation;
// -1 at the end.
func (s *yamlScan) nextLine() int { return s.advanceLine(true) }

func (s *yamlScan) skipComment() {
	if k := bytes.IndexByte(s.d[s.i:], '\n'); k >= 0 {
		s.i += k
	} else {
		s.i = len(s.d)
	}
}

// endLine requires the rest of the line to be blank or a comment, then moves to the next
// line with content.
func (s *yamlScan) endLine() int {
	s.spaces()
	if s.at('#') {
		if s.d[s.i-1] != ' ' {
			bail() // "#" right after a token is not a comment
		}
		s.skipComment()
	}
	if s.i < len(s.d) && s.d[s.i] != '\n' {
		bail()
	}
	return s.nextLine()
}

// blockNode scans the node at s.i (its first character) whose block indentation must exceed
// n, and returns its kind and the indentation of the next line with content (s.i is at its
// first character). In a mapping value on the key's line (value), a nested block collection
// is an error.
func (s *yamlScan) blockNode(n, level int, value bool) (byte, int) {
	c := s.i - s.ls
	switch ch := s.d[s.i]; {
	case ch == '&' || ch == '*':
		panic(scanAnchor{})
	case ch == '!' || ch == '%' || ch == '@' || ch == '`' || ch == '#' || ch == ',' || ch == ']' || ch == '}' || ch == ':':
		bail()
	case ch == '?' && s.blankAt(s.i+1):
		bail() // complex key
	case ch == '-' && s.blankAt(s.i+1):
		if value {
			bail()
		}
		return 'l', s.blockSeq(c, level)
	case ch == '|' || ch == '>':
		s.count(level, false)
		return 's', s.blockScalar(n)
	case ch == '[' || ch == '{':
		kind := s.flowCollection(level)
		s.spaces()
		if s.at(':') {
			bail() // a collection as a key
		}
		return kind, s.endLine()
	case ch == '"' || ch == '\'':
		start, ls := s.i, s.ls
		s.quoted()
		s.spaces()
		if s.at(':') && s.blankAt(s.i+1) {
			if value || ls != s.ls {
				bail()
			}
			s.i, s.ls = start, ls
			return 'm', s.blockMap(c, level)
		}
		s.count(level, false)
		return 's', s.endLine()
	}
	if _, isKey := s.plainLine(); isKey {
		if value {
			bail()
		}
		return 'm', s.blockMap(c, level)
	}
	s.count(level, false)
	return 's', s.plainRest(n)
}

// plainLine finds the end of the plain scalar's text on this line (without moving): end is
// where its text ends, isKey that ": " follows.
func (s *yamlScan) plainLine() (end int, isKey bool) {
	j := s.i
	for j < len(s.d) && s.d[j] != '\n' {
		if s.d[j] == ':' && s.blankAt(j+1) {
			isKey = true
			break
		}
		if s.d[j] == '#' && j > s.i && s.d[j-1] == ' ' {
			break
		}
		j++
	}
	for j > s.i && s.d[j-1] == ' ' {
		j--
	}
	return j, isKey
}

// plainRest scans a plain scalar from its first line on, with the lines that continue it
// (indented more than n), and returns the next line's indentation.
func (s *yamlScan) plainRest(n int) int {
	for {
		end, _ := s.plainLine()
		s.i = end
		s.spaces()
		if s.at('#') {
			return s.endLine() // a comment ends the scalar
		}
		// At the line's end: a following line indented more than n continues the scalar.
		next := s.nextLineRaw()
		if next < 0 || next <= n || s.d[s.i] == '#' {
			return s.nextLine()
		}
		if strings.IndexByte("-?:,[]{}#&*!|>'\"%@`", s.d[s.i]) >= 0 {
			bail()
		}
		if _, isKey := s.plainLine(); isKey {
			bail()
		}
	}
}

// nextLineRaw is nextLine without skipping comment lines: a comment ends a plain scalar.
func (s *yamlScan) nextLineRaw() int { return s.advanceLine(false) }

// advanceLine is nextLine, skipping comment lines only when comments is set.
func (s *yamlScan) advanceLine(comments bool) int {
	for {
		if s.at('\n') {
			s.i++
			s.ls = s.i
		}
		j := s.i
		for j < len(s.d) && s.d[j] == ' ' {
			j++
		}
		if j >= len(s.d) {
			s.i = j
			return -1
		}
		switch {
		case s.d[j] == '\n':
			s.i = j
			continue
		case comments && s.d[j] == '#':
			s.i = j
			s.skipComment()
			continue
		}
		if j == s.ls && (bytes.HasPrefix(s.d[j:], []byte("---")) || bytes.HasPrefix(s.d[j:], []byte("..."))) && s.blankAt(j+3) {
			bail() // another document
		}
		s.i = j
		return j - s.ls
	}
}

// quoted moves past a single- or double-quoted scalar, which may span lines.
func (s *yamlScan) quoted() {
	q, start := s.d[s.i], s.i
	j := s.i + 1
	for {
		if j >= len(s.d) {
			bail()
		}
		c := s.d[j]
		if q == '"' && c == '\\' {
			j += 2
			continue
		}
		if c == q {
			if q == '\'' && j+1 < len(s.d) && s.d[j+1] == '\'' {
				j += 2
				continue
			}
			break
		}
		j++
	}
	s.i = j + 1
	if k := bytes.LastIndexByte(s.d[start:j], '\n'); k >= 0 {
		s.ls = start + k + 1
	}
}

// blockScalar moves past a literal (|) or folded (>) scalar whose lines are indented more
// than n.
func (s *yamlScan) blockScalar(n int) int {
	s.i++
	for s.at('+') || s.at('-') {
		s.i++
	}
	if s.i < len(s.d) && s.d[s.i] >= '0' && s.d[s.i] <= '9' {
		bail() // an explicit indentation indicator
	}
	start := s.i
	s.spaces()
	if s.at('#') && s.i > start {
		s.skipComment()
	}
	if s.i < len(s.d) && s.d[s.i] != '\n' {
		bail()
	}
	for s.at('\n') {
		s.i++
		s.ls = s.i
		j := s.i
		for j < len(s.d) && s.d[j] == ' ' {
			j++
		}
		if j < len(s.d) && s.d[j] != '\n' && j-s.ls <= n {
			break // a line indented no more than n ends the scalar
		}
		s.i = j
		s.skipComment() // to the line's end
	}
	return s.nextLine()
}

// blockMap scans a block mapping whose keys are at column c, from its first key.
func (s *yamlScan) blockMap(c, level int) int {
	s.count(level, true)
	id := s.keys.newMap()
	for {
		s.blockKey(id)
		s.spaces()
		var next int
		if s.i >= len(s.d) || s.d[s.i] == '\n' || s.d[s.i] == '#' {
			next = s.endLine()
			switch {
			case next > c:
				_, next = s.blockNode(c, level+1, false)
			case next == c && s.at('-') && s.blankAt(s.i+1):
				next = s.blockSeq(c, level+1) // a sequence at the key's indentation
			default:
				s.count(level+1, false) // null
			}
		} else {
			_, next = s.blockNode(c, level+1, true)
		}
		if next < c {
			return next
		}
		if next > c || (s.at('-') && s.blankAt(s.i+1)) {
			bail()
		}
	}
}

// blockKey scans a key and its ":", which must be on one line.
func (s *yamlScan) blockKey(id uint64) {
	var key []byte
	start := s.i
	switch ch := s.d[s.i]; ch {
	case '"', '\'':
		ls := s.ls
		s.quoted()
		if s.ls != ls {
			bail()
		}
		key = s.unquote(s.d[start:s.i])
		s.spaces()
		if !s.at(':') || !s.blankAt(s.i+1) {
			bail()
		}
	case '&', '*':
		panic(scanAnchor{})
	default:
		if strings.IndexByte("-?:,[]{}#!|>%@`", ch) >= 0 {
			bail()
		}
		end, isKey := s.plainLine()
		if !isKey {
			bail()
		}
		key = s.d[s.i:end]
		if !plainStringKey(key) {
			bail()
		}
		s.i = bytes.IndexByte(s.d[end:], ':') + end
	}
	s.addKey(id, key, s.i-start)
	s.i++ // the ':'
}

// addKey records a key whose text up to its ':' is span bytes long.
func (s *yamlScan) addKey(id uint64, key []byte, span int) {
	// goyaml refuses implicit keys over 1024 characters; "<<" may be a merge key.
	if span > 1000 || string(key) == "<<" || !s.keys.add(id, key) {
		bail()
	}
}

// unquote returns a one-line quoted scalar's value; escapes are not modelled.
func (s *yamlScan) unquote(q []byte) []byte {
	body := q[1 : len(q)-1]
	if q[0] == '"' {
		if bytes.IndexByte(body, '\\') >= 0 {
			bail()
		}
		return body
	}
	if bytes.IndexByte(body, '\'') < 0 {
		return body
	}
	s.buf = append(s.buf[:0], body...)
	s.buf = bytes.ReplaceAll(s.buf, []byte("''"), []byte("'"))
	return s.buf
}

// plainStringKey: a plain key that YAML 1.1 (as sigs.k8s.io/yaml decodes it) resolves to this
// very string, not to a number, boolean, null, timestamp or merge key.
func plainStringKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	switch c := k[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.', c == '~', c == '<', c == '=':
		return false
	}
	switch string(k) {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
		"false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL":
		return false
	}
	return true
}

// blockSeq scans a block sequence whose "-" indicators are at column c.
func (s *yamlScan) blockSeq(c, level int) int {
	s.count(level, true)
	for {
		s.i++ // the '-'
		s.spaces()
		var next int
		if s.i >= len(s.d) || s.d[s.i] == '\n' || s.d[s.i] == '#' {
			next = s.endLine()
			if next > c {
				_, next = s.blockNode(c, level+1, false)
			} else {
				s.count(level+1, false) // null
			}
		} else {
			_, next = s.blockNode(c, level+1, false)
		}
		if next < c || (next == c && !(s.at('-') && s.blankAt(s.i+1))) {
			return next
		}
		if next > c {
			bail()
		}
	}
}

// flowSpace skips spaces, line breaks and comments inside a flow collection.
func (s *yamlScan) flowSpace() {
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case ' ':
			s.i++
		case '\n':
			s.i++
			s.ls = s.i
		case '#':
			if s.i > 0 && s.d[s.i-1] != ' ' && s.d[s.i-1] != '\n' {
				return
			}
			s.skipComment()
		default:
			return
		}
	}
}

// valueIndicator: a ':' followed by a blank. Any other ':' in a flow collection is left to
// the decoder: goyaml versions differ on it.
func (s *yamlScan) valueIndicator() bool {
	if !s.at(':') {
		return false
	}
	if !s.blankAt(s.i + 1) {
		bail()
	}
	return true
}

// flowCollection scans [...] or {...} at s.i and returns 'l' or 'm'.
func (s *yamlScan) flowCollection(level int) byte {
	open := s.d[s.i]
	s.i++
	s.count(level, true)
	closer, id := byte(']'), uint64(0)
	if open == '{' {
		closer, id = '}', s.keys.newMap()
	}
	for {
		s.flowSpace()
		if s.i >= len(s.d) {
			bail()
		}
		if s.d[s.i] == closer {
			s.i++
			break
		}
		if open == '[' {
			s.flowNode(level + 1)
			s.flowSpace()
			if s.at(':') {
				bail() // a single-pair mapping in a sequence
			}
		} else {
			start, ls := s.i, s.ls
			s.flowKey(id)
			s.flowSpace()
			if s.at(':') && (s.ls != ls || s.i-start > 1000) {
				bail() // goyaml wants a key's ':' on its line, within 1024 characters
			}
			if s.valueIndicator() {
				s.i++
				s.flowSpace()
				if s.at(',') || s.at('}') {
					s.count(level+1, false) // null
				} else {
					s.flowNode(level + 1)
				}
			} else {
				s.count(level+1, false) // a key alone: null
			}
		}
		s.flowSpace()
		if s.at(',') {
			s.i++
			continue
		}
		if !s.at(closer) {
			bail()
		}
	}
	if open == '{' {
		return 'm'
	}
	return 'l'
}

// flowNode scans one node in a flow collection.
func (s *yamlScan) flowNode(level int) {
	if s.i >= len(s.d) {
		bail()
	}
	switch ch := s.d[s.i]; {
	case ch == '&' || ch == '*':
		panic(scanAnchor{})
	case ch == '[' || ch == '{':
		s.flowCollection(level)
		return
	case ch == '"' || ch == '\'':
		s.quoted()
	case strings.IndexByte("!%@`|>?,]}#:", ch) >= 0, ch == '-' && s.blankAt(s.i+1):
		bail()
	default:
		s.flowPlain()
	}
	s.count(level, false)
}

// flowKey scans a key in a flow mapping.
func (s *yamlScan) flowKey(id uint64) {
	switch ch := s.d[s.i]; {
	case ch == '&' || ch == '*':
		panic(scanAnchor{})
	case ch == '"' || ch == '\'':
		start, ls := s.i, s.ls
		s.quoted()
		if s.ls != ls {
			bail()
		}
		s.addKey(id, s.unquote(s.d[start:s.i]), 0)
	case strings.IndexByte("!%@`|>?,[]{}#:", ch) >= 0, ch == '-' && s.blankAt(s.i+1):
		bail()
	default:
		start := s.i
		s.flowPlain()
		key := bytes.TrimRight(s.d[start:s.i], " ")
		if !plainStringKey(key) {
			bail()
		}
		s.addKey(id, key, 0)
	}
}

// flowPlain moves past a one-line plain scalar in a flow collection.
func (s *yamlScan) flowPlain() {
	start := s.i
	for s.i < len(s.d) {
		c := s.d[s.i]
		if flowIndicator(c) || c == '\n' || (c == ':' && s.blankAt(s.i+1)) || (c == '#' && s.i > start && s.d[s.i-1] == ' ') {
			break
		}
		if c == ':' {
			bail()
		}
		s.i++
	}
	if s.at('\n') {
		// A plain scalar may go on on the next line; that is left to the decoder.
		j := s.i
		for j < len(s.d) && (s.d[j] == ' ' || s.d[j] == '\n') {
			j++
		}
		if j < len(s.d) && !flowIndicator(s.d[j]) && s.d[j] != ':' && s.d[j] != '#' {
			bail()
		}
	}
}
