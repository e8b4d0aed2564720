package etcd

import (
	"strings"

	"github.com/neutrino-net/neutrino/source"
)

// Key returns the key of ref under prefix: <prefix>/v1/<collection>/<id>.
func Key(prefix string, ref source.Ref) string {
	return objectsPrefix(prefix) + ref.Collection + "/" + ref.ID
}

// ParseKey returns the object a key names, false for a key that is not
// <prefix>/v1/<collection>/<id>.
func ParseKey(prefix, key string) (source.Ref, bool) {
	rest, ok := strings.CutPrefix(key, objectsPrefix(prefix))
	if !ok {
		return source.Ref{}, false
	}
	coll, id, ok := strings.Cut(rest, "/")
	if !ok || coll == "" || id == "" {
		return source.Ref{}, false
	}
	return source.Ref{Collection: coll, ID: id}, true
}

func objectsPrefix(prefix string) string { return strings.TrimSuffix(prefix, "/") + "/v1/" }

func writerKey(prefix string) string { return strings.TrimSuffix(prefix, "/") + "/writer" }
