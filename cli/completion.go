package cli

import (
	"fmt"

	ucli "github.com/urfave/cli/v2"
)

const bashCompletion = `_kinc_complete() {
  local cur words
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$COMP_CWORD-1}" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _kinc_complete kinc
`

const zshCompletion = `#compdef kinc
_kinc() {
  local -a opts
  opts=("${(@f)$(${words[1]} ${words[@]:1:$CURRENT-2} --generate-bash-completion 2>/dev/null)}")
  _describe 'values' opts
}
compdef _kinc kinc
`

func completionCommand(g *globals) *ucli.Command {
	return &ucli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh): source <(kinc completion bash)",
		ArgsUsage: "bash|zsh",
		Action: func(c *ucli.Context) error {
			switch c.Args().First() {
			case "bash":
				_, err := fmt.Fprint(g.stdout, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(g.stdout, zshCompletion)
				return err
			default:
				return usageError(c, "unknown shell %q: use bash or zsh", c.Args().First())
			}
		},
	}
}
