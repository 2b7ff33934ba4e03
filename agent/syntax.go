package agent

import "strings"

// Syntax checks of single values, written as plain functions rather than
// regular expressions: every action is a new process, and compiling
// patterns at start-up (one with a bounded repetition compiled into 512
// copies) cost more CPU than the action itself.

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isTableID: rtb- and 8 or 17 lower-case hex digits.
func isTableID(s string) bool {
	rest, ok := strings.CutPrefix(s, "rtb-")
	return ok && (len(rest) == 8 || len(rest) == 17) && isHex(rest)
}

func isNameChar(c byte, extra string) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0
}

func allOf(s, extra string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i], extra) {
			return false
		}
	}
	return true
}

// isIfname: a Linux interface name, 1 to 15 of A-Z a-z 0-9 _ . - (Linux
// refuses ':' and '/'; ':' starts a label).
func isIfname(s string) bool { return allOf(s, "_.-", 1, 15) }

// isLabel: an address label suffix, which may contain ':'.
func isLabel(s string) bool { return allOf(s, "_.:-", 1, 15) }

// isRegion: two letters, one or more -word parts, and a -number, as in
// eu-west-1 or us-gov-west-1.
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		last := i == len(parts)-1
		for j := 0; j < len(p); j++ {
			c := p[j]
			if last && !('0' <= c && c <= '9') || !last && !('a' <= c && c <= 'z') {
				return false
			}
		}
	}
	return true
}

// isRoleARN: arn:PARTITION:iam::ACCOUNT:role/PATH/NAME, with a 12-digit
// account and IAM's characters in the path and name (at most 512).
func isRoleARN(s string) bool {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" || !strings.HasPrefix(f[1], "aws") || f[2] != "iam" || f[3] != "" {
		return false
	}
	if !allOf(f[1], "-", 3, 20) || len(f[4]) != 12 || !allOf(f[4], "", 12, 12) || strings.ContainsAny(f[4], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return false
	}
	name, ok := strings.CutPrefix(f[5], "role/")
	return ok && allOf(name, "_+=,.@/-", 1, 512)
}
