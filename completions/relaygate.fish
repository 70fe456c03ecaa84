# fish completion for relaygate. Install: copy to ~/.config/fish/completions/relaygate.fish.

set -l commands check scan pipe dns config train model
complete -c relaygate -f
complete -c relaygate -n "not __fish_seen_subcommand_from $commands" -a "$commands"
complete -c relaygate -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version'
complete -c relaygate -l help -d 'Show help'

# Option groups shared by several commands.
set -l input_cmds check scan record
set -l dns_cmds check scan pipe lookup record
set -l policy_cmds check scan pipe record show
set -l envelope_cmds check scan record

complete -c relaygate -n "__fish_seen_subcommand_from $input_cmds" -l mbox-format -x -a 'mboxrd mboxo' -d 'How quoted From lines are undone'
complete -c relaygate -n "__fish_seen_subcommand_from $input_cmds pipe" -l max-message-size -x -d 'Largest message, bytes'
complete -c relaygate -n "__fish_seen_subcommand_from $dns_cmds" -l dns -x -a 'live cached offline' -d 'Where DNS answers come from'
complete -c relaygate -n "__fish_seen_subcommand_from $dns_cmds" -l dns-zone -r -F -d 'Zone file: the whole DNS world'
complete -c relaygate -n "__fish_seen_subcommand_from $dns_cmds" -l resolver -x -d 'DNS server ADDR[:PORT]'
complete -c relaygate -n "__fish_seen_subcommand_from $dns_cmds" -l dns-timeout -x -d 'Seconds to wait for DNS'
complete -c relaygate -n "__fish_seen_subcommand_from $dns_cmds" -l dns-retries -x -d 'Retries after a DNS timeout'
complete -c relaygate -n "__fish_seen_subcommand_from $dns_cmds cache" -l dns-cache -r -F -d 'Cache file for --dns cached'
complete -c relaygate -n "__fish_seen_subcommand_from $policy_cmds" -l config -r -F -d 'Policy file'
complete -c relaygate -n "__fish_seen_subcommand_from $envelope_cmds pipe" -l client-ip -x -d 'SMTP client address'
complete -c relaygate -n "__fish_seen_subcommand_from $envelope_cmds pipe" -l helo -x -d 'HELO name'
complete -c relaygate -n "__fish_seen_subcommand_from $envelope_cmds" -l mail-from -x -d 'SMTP MAIL FROM'
complete -c relaygate -n "__fish_seen_subcommand_from $envelope_cmds" -l rcpt -x -d 'SMTP RCPT TO'

# check and scan
complete -c relaygate -n "__fish_seen_subcommand_from check scan" -F
complete -c relaygate -n "__fish_seen_subcommand_from check scan" -l pretty -d 'Indent the JSON'
complete -c relaygate -n "__fish_seen_subcommand_from check scan" -l fail-on -x -a 'quarantine reject' -d 'Exit 1 at this action or worse'
complete -c relaygate -n "__fish_seen_subcommand_from scan" -s j -l jobs -x -d 'Workers'
complete -c relaygate -n "__fish_seen_subcommand_from scan" -l workers -x -a 'auto threads processes' -d 'How workers run'
complete -c relaygate -n "__fish_seen_subcommand_from scan record train" -s o -l output -r -F -d 'Output file'
complete -c relaygate -n "__fish_seen_subcommand_from scan" -s q -l quiet -d 'No progress and no summary'
complete -c relaygate -n "__fish_seen_subcommand_from scan" -l resume -d 'Continue an interrupted run'
complete -c relaygate -n "__fish_seen_subcommand_from scan" -l split -r -a '(__fish_complete_directories)' -d 'File messages into Maildirs'

# pipe
complete -c relaygate -n "__fish_seen_subcommand_from pipe" -s f -l sender -x -d 'Envelope sender'
complete -c relaygate -n "__fish_seen_subcommand_from pipe" -s i -d 'sendmail compatibility'
complete -c relaygate -n "__fish_seen_subcommand_from pipe" -l relay -x -d 'Upstream smtp:// or smtps:// URL'
complete -c relaygate -n "__fish_seen_subcommand_from pipe" -l tls -x -a 'required opportunistic none' -d 'STARTTLS use'
complete -c relaygate -n "__fish_seen_subcommand_from pipe" -l ca-file -r -F -d 'CA certificates'
complete -c relaygate -n "__fish_seen_subcommand_from pipe" -l quarantine -r -a '(__fish_complete_directories)' -d 'Quarantine Maildir'

# dns
complete -c relaygate -n "__fish_seen_subcommand_from dns; and not __fish_seen_subcommand_from lookup record cache" -a 'lookup record cache'
complete -c relaygate -n "__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from show prune" -a 'show prune'
complete -c relaygate -n "__fish_seen_subcommand_from record" -F

# config
complete -c relaygate -n "__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from show check findings" -a 'show check findings'
complete -c relaygate -n "__fish_seen_subcommand_from check; and __fish_seen_subcommand_from config" -F

# train and model
complete -c relaygate -n "__fish_seen_subcommand_from train eval" -l spam -r -F -d 'Spam mail'
complete -c relaygate -n "__fish_seen_subcommand_from train eval" -l ham -r -F -d 'Ham mail'
complete -c relaygate -n "__fish_seen_subcommand_from train" -l hash-bits -x -d 'Hash into 2^N buckets'
complete -c relaygate -n "__fish_seen_subcommand_from train" -l epochs -x -d 'Passes over the training set'
complete -c relaygate -n "__fish_seen_subcommand_from train" -l target-fpr -x -d 'Ham false-positive rate to tune for'
complete -c relaygate -n "__fish_seen_subcommand_from model; and not __fish_seen_subcommand_from info eval" -a 'info eval'
complete -c relaygate -n "__fish_seen_subcommand_from eval" -l model -r -F -d 'Model file'
complete -c relaygate -n "__fish_seen_subcommand_from info" -F
