package ec2emu

// A filterSet names the filters one Describe action knows, each with the
// values an item has for it. As in EC2, an item matches a filter when one of
// its values matches one of the filter's (wildcards allowed), and it is listed
// only when it matches every filter given.
type filterSet[T any] map[string]func(st *State, item T) []string

func (fs filterSet[T]) match(st *State, item T, filters []filter) bool {
	for _, f := range filters {
		ok := false
		for _, v := range fs[f.name](st, item) {
			if match(f.values, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// describeSpec is what differs between the Describe actions; describe does
// the rest the same way for each.
type describeSpec[T any] struct {
	idParam  string // the list of ids asked for: idParam.1, idParam.2, ...
	notFound string // the error code of an id that does not exist
	noun     string // the resource as the NotFound message names it
	filters  filterSet[T]
	items    func(st *State) []T
	id       func(item T) string
	// malformed, when set, may reject an id that does not exist as
	// malformed, before NotFound.
	malformed func(id string) *apiError
	// tables: the ids are route tables, which a Deny may name.
	tables bool
	// stale: the answer may come from the stale snapshot, as a read after
	// a write may on EC2.
	stale bool
}

// describe runs a Describe action: it refuses unknown filters, authorises,
// reports every id asked for that does not exist, and passes emit, under the
// emulator's lock, each item asked for (all, when no ids are given) that
// matches every filter.
func describe[T any](e *Emulator, req *request, spec describeSpec[T], emit func(st *State, item T)) *apiError {
	ids := req.list(spec.idParam)
	filters := req.filters()
	for _, f := range filters {
		if _, ok := spec.filters[f.name]; !ok {
			return invalidFilter(f.name)
		}
	}
	var tables []string
	if spec.tables {
		tables = ids
	}
	if err := e.gate(req, tables); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state
	if spec.stale && e.stale > 0 && e.staleOf != nil {
		st = e.staleOf
		e.stale--
	}
	items := spec.items(st)
	exists := make(map[string]bool, len(items))
	for _, it := range items {
		exists[spec.id(it)] = true
	}
	var missing []string
	for _, id := range ids {
		if exists[id] {
			continue
		}
		if spec.malformed != nil {
			if err := spec.malformed(id); err != nil {
				return err
			}
		}
		missing = append(missing, id)
	}
	if len(missing) > 0 {
		return notFoundList(spec.notFound, spec.noun, missing)
	}
	for _, it := range items {
		if len(ids) > 0 && !contains(ids, spec.id(it)) {
			continue
		}
		if spec.filters.match(st, it, filters) {
			emit(st, it)
		}
	}
	return nil
}

// values is an item's one value for a filter, or none when it is empty (a
// detached interface has no attachment.instance-id).
func values(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}
