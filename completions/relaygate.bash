# bash completion for relaygate                                 -*- shell-script -*-
# Install: source this file, or copy it to /usr/share/bash-completion/completions/relaygate.

_relaygate()
{
    local cur prev words cword
    _init_completion || return

    local input="--mbox-format --max-message-size"
    local dns="--dns --dns-zone --resolver --dns-timeout --dns-retries --dns-cache"
    local policy="--config"
    local envelope="--client-ip --helo --mail-from --rcpt"

    case $prev in
        --dns) COMPREPLY=($(compgen -W "live cached offline" -- "$cur")); return ;;
        --mbox-format) COMPREPLY=($(compgen -W "mboxrd mboxo" -- "$cur")); return ;;
        --fail-on) COMPREPLY=($(compgen -W "quarantine reject" -- "$cur")); return ;;
        --tls) COMPREPLY=($(compgen -W "required opportunistic none" -- "$cur")); return ;;
        --dns-zone|--config|--dns-cache|--ca-file|--model|-o|--output)
            _filedir; return ;;
        --split|--quarantine) _filedir -d; return ;;
        --workers) COMPREPLY=($(compgen -W "auto threads processes" -- "$cur")); return ;;
        --spam|--ham) _filedir; return ;;
        --resolver|--client-ip|--helo|--mail-from|--rcpt|--dns-timeout|--dns-retries|\
        --max-message-size|-j|--jobs|--relay|-f|--sender|--hash-bits|--epochs|--target-fpr)
            return ;;
    esac

    local command="" sub=""
    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -*) ;;
            *) if [[ -z $command ]]; then command=${words[i]};
               elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;
        esac
    done

    local options=""
    case $command in
        "") COMPREPLY=($(compgen -W "check scan pipe dns config train model --help --version" \
                                   -- "$cur")); return ;;
        check) options="$input $dns $policy $envelope --pretty --fail-on" ;;
        scan) options="$input $dns $policy $envelope -j --jobs --workers -o --output -q --quiet
                       --pretty --resume --split --fail-on" ;;
        pipe) options="$dns $policy -f --sender -i --client-ip --helo --relay --tls --ca-file
                       --quarantine --max-message-size" ;;
        dns)
            case $sub in
                "") COMPREPLY=($(compgen -W "lookup record cache" -- "$cur")); return ;;
                lookup) options="$dns" ;;
                record) options="-o --output $input $dns $policy $envelope" ;;
                cache)
                    if [[ $cur != -* ]]; then
                        COMPREPLY=($(compgen -W "show prune" -- "$cur")); return
                    fi
                    options="--dns-cache" ;;
            esac ;;
        config)
            case $sub in
                "") COMPREPLY=($(compgen -W "show check findings" -- "$cur")); return ;;
                show) options="--config" ;;
            esac ;;
        train) options="--spam --ham -o --output --hash-bits --epochs --target-fpr" ;;
        model)
            case $sub in
                "") COMPREPLY=($(compgen -W "info eval" -- "$cur")); return ;;
                eval) options="--spam --ham --model" ;;
            esac ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options --help" -- "$cur"))
    else
        _filedir
    fi
} &&
    complete -F _relaygate relaygate
