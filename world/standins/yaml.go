package main

// A deliberately small YAML reader: block mappings, block sequences, plain and
// quoted scalars, comments, "---" document separators and empty flow
// collections ([] / {}). Enough for kubeadm JoinConfiguration files and the
// kubeconfigs this world writes. Anchors, multi-line scalars and flow
// collections with content are rejected with an error.

import (
	"fmt"
	"strconv"
	"strings"
)

type yline struct {
	indent int
	text   string // without indentation, comments stripped
	num    int
}

// parseYAMLDocs returns one value per document.
func parseYAMLDocs(src string) ([]any, error) {
	var docs [][]yline
	var cur []yline
	for i, raw := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(raw, "---") {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		if strings.HasPrefix(raw, "...") {
			continue
		}
		if strings.Contains(raw, "\t") && strings.TrimLeft(raw, " ") != strings.TrimLeft(raw, " \t") {
			return nil, fmt.Errorf("line %d: tabs are not allowed for indentation", i+1)
		}
		t := stripComment(raw)
		if strings.TrimSpace(t) == "" {
			continue
		}
		ind := len(t) - len(strings.TrimLeft(t, " "))
		cur = append(cur, yline{indent: ind, text: strings.TrimRight(t[ind:], " "), num: i + 1})
	}
	docs = append(docs, cur)
	var out []any
	for _, d := range docs {
		if len(d) == 0 {
			continue
		}
		p := &yparser{lines: d}
		v, err := p.block(d[0].indent)
		if err != nil {
			return nil, err
		}
		if p.pos < len(p.lines) {
			return nil, fmt.Errorf("line %d: unexpected content %q", p.lines[p.pos].num, p.lines[p.pos].text)
		}
		out = append(out, v)
	}
	return out, nil
}

func stripComment(s string) string {
	inS, inD := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			if !inD {
				inS = !inS
			}
		case '"':
			if !inS && (i == 0 || s[i-1] != '\\') {
				inD = !inD
			}
		case '#':
			if !inS && !inD && (i == 0 || s[i-1] == ' ') {
				return s[:i]
			}
		}
	}
	return s
}

type yparser struct {
	lines []yline
	pos   int
}

func (p *yparser) block(indent int) (any, error) {
	if p.pos >= len(p.lines) {
		return nil, nil
	}
	l := p.lines[p.pos]
	if l.text == "-" || strings.HasPrefix(l.text, "- ") {
		return p.seq(l.indent)
	}
	if _, _, ok := splitKey(l.text); ok {
		return p.mapping(l.indent)
	}
	p.pos++
	return scalar(l.text, l.num)
}

func (p *yparser) seq(indent int) (any, error) {
	var out []any
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent != indent || !(l.text == "-" || strings.HasPrefix(l.text, "- ")) {
			if l.indent > indent {
				return nil, fmt.Errorf("line %d: bad indentation", l.num)
			}
			break
		}
		rest := strings.TrimPrefix(strings.TrimPrefix(l.text, "-"), " ")
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			p.pos++
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				v, err := p.block(p.lines[p.pos].indent)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			} else {
				out = append(out, nil)
			}
			continue
		}
		if _, _, ok := splitKey(rest); ok {
			// "- key: value" starts a mapping whose indentation is that of "key".
			childIndent := indent + (len(l.text) - len(rest))
			p.lines[p.pos] = yline{indent: childIndent, text: rest, num: l.num}
			v, err := p.mapping(childIndent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		p.pos++
		v, err := scalar(rest, l.num)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func (p *yparser) mapping(indent int) (any, error) {
	out := map[string]any{}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, fmt.Errorf("line %d: bad indentation", l.num)
		}
		k, v, ok := splitKey(l.text)
		if !ok {
			if l.text == "-" || strings.HasPrefix(l.text, "- ") {
				break // a sequence at the same indentation as its parent key's mapping
			}
			return nil, fmt.Errorf("line %d: expected \"key: value\", found %q", l.num, l.text)
		}
		key, err := scalar(k, l.num)
		if err != nil {
			return nil, err
		}
		ks := fmt.Sprint(key)
		p.pos++
		if v != "" {
			sv, err := scalar(v, l.num)
			if err != nil {
				return nil, err
			}
			out[ks] = sv
			continue
		}
		if p.pos < len(p.lines) {
			n := p.lines[p.pos]
			isSeq := n.text == "-" || strings.HasPrefix(n.text, "- ")
			if n.indent > indent || (n.indent == indent && isSeq) {
				child, err := p.block(n.indent)
				if err != nil {
					return nil, err
				}
				out[ks] = child
				continue
			}
		}
		out[ks] = nil
	}
	return out, nil
}

// splitKey splits "key: value" (value may be empty). Quoted keys are allowed.
func splitKey(s string) (string, string, bool) {
	i := 0
	if strings.HasPrefix(s, "\"") || strings.HasPrefix(s, "'") {
		q := s[0]
		j := strings.IndexByte(s[1:], q)
		if j < 0 {
			return "", "", false
		}
		i = j + 2
	}
	for ; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ') {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
		}
		if s[i] == '"' || s[i] == '\'' {
			return "", "", false
		}
	}
	return "", "", false
}

func scalar(s string, num int) (any, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "[]":
		return []any{}, nil
	case s == "{}":
		return map[string]any{}, nil
	case strings.HasPrefix(s, "\""):
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad double-quoted string %s", num, s)
		}
		return v, nil
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return nil, fmt.Errorf("line %d: bad single-quoted string %s", num, s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{"):
		return nil, fmt.Errorf("line %d: flow collections are not supported by this stand-in: %s", num, s)
	case strings.HasPrefix(s, "&") || strings.HasPrefix(s, "*") || s == "|" || s == ">" || strings.HasPrefix(s, "|") || strings.HasPrefix(s, ">"):
		return nil, fmt.Errorf("line %d: anchors, aliases and block scalars are not supported by this stand-in: %s", num, s)
	case s == "true" || s == "True":
		return true, nil
	case s == "false" || s == "False":
		return false, nil
	case s == "null" || s == "~":
		return nil, nil
	}
	return s, nil
}

// ypath walks nested maps: ypath(doc, "discovery", "bootstrapToken", "token").
func ypath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func ystring(v any, keys ...string) string {
	x := ypath(v, keys...)
	switch t := x.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}
