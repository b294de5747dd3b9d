#!/usr/bin/perl
# Verifies messages with Mail::DKIM, answering key queries from a records file (name TAB value)
# instead of DNS. Prints "path TAB result" per message; result is "pass" only if every signature passes.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;

my ($records_file, @messages) = @ARGV;
my %records;
open(my $rf, '<', $records_file) or die "records: $!";
while (my $line = <$rf>) {
    chomp $line;
    my ($name, $value) = split /\t/, $line, 2;
    $records{lc $name} = $value;
}
close $rf;

# Mail::DKIM looks keys up through Mail::DKIM::DNS::query (query_async calls it too); answer
# from the records file.
{
    package FakeTxt;
    sub new { my ($c, $t) = @_; bless { t => $t }, $c }
    sub type { 'TXT' }
    sub char_str_list { my $s = shift; my $t = $s->{t}; my @p; push @p, substr($t, 0, 255, '') while length $t; @p }
    sub txtdata { $_[0]->{t} }
}
no warnings 'redefine';
*Mail::DKIM::DNS::query = sub {
    my ($name, $type) = @_;
    my $v = $records{lc $name};
    return defined $v ? (FakeTxt->new($v)) : ();
};
use warnings 'redefine';

for my $path (@messages) {
    open(my $fh, '<', $path) or die "$path: $!";
    binmode $fh;
    my $dkim = Mail::DKIM::Verifier->new();
    while (my $line = <$fh>) {
        $line =~ s/\r?\n\z/\r\n/;
        $dkim->PRINT($line);
    }
    $dkim->CLOSE;
    close $fh;
    # Debian 12's Mail::DKIM (1.20230212) predates its Ed25519 support and reports such signatures
    # as "unsupported algorithm"; those are left to dkimpy.
    my @sigs = grep { !(($_->result_detail // '') =~ /unsupported algorithm ed25519/) } $dkim->signatures;
    my @bad = grep { ($_->result // '') ne 'pass' } @sigs;
    my $res = !@sigs ? 'none' : @bad ? join(',', map { ($_->result // '?') . '(' . ($_->result_detail // '') . ')' } @bad) : 'pass';
    print "$path\t$res\n";
}
