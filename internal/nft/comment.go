package nft

import (
	"unicode/utf8"

	"github.com/google/nftables/userdata"
)

// MaxComment is the longest comment, in bytes, the nft CLI accepts (and so
// shows); longer comments are cut at a character boundary.
const MaxComment = 128

// Comment returns a rule's UserData carrying comment s in the TLV encoding
// libnftnl uses, so that `nft list` shows it. Raw bytes in UserData are
// stored but never shown. Sets and set elements have a Comment field of
// their own that the library encodes; chains and tables cannot carry one.
func Comment(s string) []byte {
	if len(s) > MaxComment {
		n := MaxComment
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return userdata.AppendString(nil, userdata.TypeComment, s)
}

// ParseComment returns the comment in a rule's UserData, if any: how a
// realizer recognises the rules it wrote.
func ParseComment(udata []byte) (string, bool) {
	return userdata.GetString(udata, userdata.TypeComment)
}
