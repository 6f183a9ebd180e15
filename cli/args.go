package cli

import (
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// reorderArgs lets flags be written anywhere on the command line, as kind
// and kubectl users expect: urfave/cli only parses a command's flags before
// its first argument, and the app's (global) flags only before the command.
// It returns argv rewritten as
//
//	kinc GLOBAL-FLAGS... CMD FLAGS... SUBCMD FLAGS... -- ARGS...
//
// A flag goes to the innermost command on the line that defines it, else to
// the app when the app defines it (the global flags), else to the command it
// was written after, where urfave/cli reports it as unknown. Everything after
// "--" is an argument. Commands added later need nothing: the tree is read
// from the app.
func reorderArgs(app *ucli.App, argv []string) []string {
	if len(argv) < 2 {
		return argv
	}
	for _, a := range argv[1:] {
		if a == "--generate-bash-completion" {
			return argv // completion reads the line as typed
		}
	}
	type level struct {
		name  string
		flags []ucli.Flag
		subs  []*ucli.Command
		// tokens are the flags (with their values) given to this level.
		tokens []string
	}
	root := &level{flags: app.Flags, subs: app.Commands}
	levels := []*level{root}
	var positional []string
	dashdash := false
	rest := argv[1:]
	for i := 0; i < len(rest); i++ {
		tok := rest[i]
		cur := levels[len(levels)-1]
		switch {
		case dashdash:
			positional = append(positional, tok)
		case tok == "--":
			dashdash = true
		case len(tok) > 1 && strings.HasPrefix(tok, "-"):
			name, _, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
			target := cur
			var flag ucli.Flag
			for j := len(levels) - 1; j >= 0; j-- {
				if f := findFlag(levels[j].flags, name); f != nil {
					target, flag = levels[j], f
					break
				}
			}
			target.tokens = append(target.tokens, tok)
			if flag != nil && takesValue(flag) && !hasValue && i+1 < len(rest) {
				i++
				target.tokens = append(target.tokens, rest[i])
			}
		default:
			if len(positional) == 0 {
				if cmd := findCommand(cur.subs, tok); cmd != nil {
					levels = append(levels, &level{name: tok, flags: cmd.Flags, subs: cmd.Subcommands})
					continue
				}
			}
			positional = append(positional, tok)
		}
	}
	out := []string{argv[0]}
	for _, l := range levels {
		if l != root {
			out = append(out, l.name)
		}
		out = append(out, l.tokens...)
	}
	if len(positional) > 0 {
		if len(levels) > 1 || dashdash {
			// "--" keeps an argument such as "-" or "-x" (after a user's
			// own "--") from being read as a flag; at the top level the
			// argument is an unknown command, which must stay visible.
			out = append(out, "--")
		}
		out = append(out, positional...)
	}
	return out
}

func findFlag(flags []ucli.Flag, name string) ucli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func takesValue(f ucli.Flag) bool {
	if v, ok := f.(interface{ TakesValue() bool }); ok {
		return v.TakesValue()
	}
	return false
}

func findCommand(cmds []*ucli.Command, name string) *ucli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
