#!/usr/bin/perl
# Prints SpamAssassin's Bayes probability of each message file named on standard input, one
# line each: "<probability> <path>" ("none" when Bayes gave no answer).
#
#   sa_bayes.pl BAYES_PATH < files
#
# Bayes alone: one Mail::SpamAssassin object, local tests only, the Bayes database given, no
# auto-learning; the probability is the _BAYES_ tag, which the BAYES_* rules read. Other rules
# still run (they do not change the Bayes probability), which only costs time.
use strict;
use warnings;
use Mail::SpamAssassin;

my $bayes_path = shift or die "usage: sa_bayes.pl BAYES_PATH < files\n";
my $sa = Mail::SpamAssassin->new({
    local_tests_only => 1,
    dont_copy_prefs => 1,
    userprefs_filename => '/dev/null',
    post_config_text => join("\n",
        "use_bayes 1", "bayes_path $bayes_path", "bayes_auto_learn 0",
        "bayes_auto_expire 0", "use_auto_whitelist 0", "use_txrep 0", ""),
});
$sa->compile_now(0);

while (my $path = <STDIN>) {
    chomp $path;
    my $text = do {
        # Slurp mode only for this read: SpamAssassin reads its Bayes journal line by line.
        local $/;
        open(my $in, '<:raw', $path) or die "cannot open $path: $!\n";
        <$in>;
    };
    my $message = $sa->parse($text);
    my $status = $sa->check($message);
    my $probability = $status->get_tag('BAYES');
    $probability = 'none' if !defined $probability || $probability eq '';
    print "$probability $path\n";
    $status->finish();
    $message->finish();
}
