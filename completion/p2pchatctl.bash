# bash completion for p2pchatctl(1)                        -*- shell-script -*-
#
# Installed as $(datadir)/bash-completion/completions/p2pchatctl, where
# bash-completion loads it on first use; or source it from ~/.bashrc.
# Completes global options, commands, each command's options, usernames
# (column 1 of `p2pchatctl chats`) and message ids (`p2pchatctl pending`),
# asking the daemon named by the -c or -s already on the command line.

_p2pchatctl_commands="register login logout status send send-file files save
accept reject chats history pending lookup fingerprint trust watch chat
chat-delete wait cancel search export import users stats reload shutdown version
group groups help"

# Run p2pchatctl with the -c/-s options of the line being completed.
_p2pchatctl_query()
{
	local cmd=${COMP_WORDS[0]}
	command -v "$cmd" >/dev/null 2>&1 || cmd=p2pchatctl
	"$cmd" "${_p2pchatctl_conn[@]}" "$@" 2>/dev/null </dev/null
}

_p2pchatctl_users()
{
	local users
	# A group's chat (kind, column 6: group) is named by its title.
	users=$(_p2pchatctl_query chats | awk -F'\t' '$6 != "group" { print $1 }')
	COMPREPLY=($(compgen -W "$users" -- "$1"))
}

_p2pchatctl_ids()
{
	local ids
	ids=$(_p2pchatctl_query pending | cut -f1)
	COMPREPLY=($(compgen -W "$ids" -- "$1"))
}

_p2pchatctl_files()
{
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$1"))
}

_p2pchatctl()
{
	local cur prev i w cmd='' cmdi=0 npos=0 opts
	local -a _p2pchatctl_conn=()

	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# Global options come before the command; find the command.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-c | -s)
			((i + 1 < COMP_CWORD)) &&
				_p2pchatctl_conn+=("$w" "${COMP_WORDS[i + 1]}")
			((i++))
			;;
		--password-file) ((i++)) ;;
		-*) ;;
		*)
			cmd=$w
			cmdi=$i
			break
			;;
		esac
	done

	case $prev in
	-c | -s | --password-file)
		_p2pchatctl_files "$cur"
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-c -s --json --password-file -h
			    --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_p2pchatctl_commands" -- "$cur"))
		fi
		return
	fi

	# Count the positional arguments before the word being completed.
	for ((i = cmdi + 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--password-file | --limit | --id | --timeout | --since | --user | \
		    --group | --name | --ttl)
			((i++))
			;;
		=) ((i++)) ;; # --opt=value, split at '=' by COMP_WORDBREAKS
		-*) ;;
		*) npos=$((npos + 1)) ;;
		esac
	done

	case $prev in
	--user)
		_p2pchatctl_users "$cur"
		return
		;;
	--group)
		COMPREPLY=($(compgen -W "$(_p2pchatctl_query groups | cut -f1)" \
		    -- "$cur"))
		return
		;;
	--since)
		COMPREPLY=($(compgen -W "now" -- "$cur"))
		return
		;;
	--limit | --id | --timeout | --ttl | --name)
		return
		;;
	esac

	case $cmd in
	register | login) opts="--password-file" ;;
	send) opts="--wait --wait= --id --ttl --group --batch --jsonl" ;;
	send-file) opts="--name --id --wait --wait= --ttl --group" ;;
	save) opts="--force" ;;
	watch) opts="--since" ;;
	wait) opts="--timeout" ;;
	import) opts="--send-pending" ;;
	search) opts="--user --group --limit --fts" ;;
	history) opts="--limit --group" ;;
	chat-delete) opts="--cancel-pending --yes" ;;
	*) opts= ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help --json" -- "$cur"))
		[[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
		return
	fi

	case $cmd in
	send | history | lookup | fingerprint | trust | chat | chat-delete | export | \
	    files)
		((npos == 0)) && _p2pchatctl_users "$cur"
		;;
	save)
		((npos == 1)) && _p2pchatctl_files "$cur"
		;;
	send-file)
		if ((npos == 0)); then
			_p2pchatctl_users "$cur"
		elif ((npos == 1)); then
			_p2pchatctl_files "$cur"
		fi
		;;
	wait | cancel)
		_p2pchatctl_ids "$cur"
		;;
	import)
		((npos == 0)) && _p2pchatctl_files "$cur"
		;;
	group)
		# group VERB GROUP [USER...]: groups by id, members by name.
		if ((npos == 0)); then
			COMPREPLY=($(compgen -W "create add remove rename leave show" -- \
			    "$cur"))
		elif ((npos == 1)) && [[ ${COMP_WORDS[cmdi + 1]} != create ]]; then
			COMPREPLY=($(compgen -W "$(_p2pchatctl_query groups |
			    cut -f1)" -- "$cur"))
		elif [[ ${COMP_WORDS[cmdi + 1]} == @(add|remove|create) ]]; then
			_p2pchatctl_users "$cur"
		fi
		;;
	help)
		((npos == 0)) &&
			COMPREPLY=($(compgen -W "$_p2pchatctl_commands" -- "$cur"))
		;;
	esac
	return 0
}
complete -F _p2pchatctl p2pchatctl
