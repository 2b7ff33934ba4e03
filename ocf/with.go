package ocf

// With returns a copy of the environment with the given NAME=value pairs
// set, for commands that take parameters as flags as well.
func (e *Env) With(kv ...string) *Env {
	c := &Env{vars: make(map[string]string, len(e.vars)+len(kv))}
	for k, v := range e.vars {
		c.vars[k] = v
	}
	for _, s := range kv {
		for i := 0; i < len(s); i++ {
			if s[i] == '=' {
				c.vars[s[:i]] = s[i+1:]
				break
			}
		}
	}
	return c
}
