#!/usr/bin/perl
# Verifies a message's DKIM signatures with Mail::DKIM, resolving keys from a JSON file
# {"selector._domainkey.domain": "v=DKIM1; ..."} instead of DNS.
# usage: mail_dkim_verify.pl KEYS.json MESSAGE.eml  -> prints one "result domain selector algorithm" line
# per signature; exits 0 when every signature passes and there is at least one.
use strict;
use warnings;
use JSON::PP;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

package FakeResolver;
sub new { my ($class, $records) = @_; return bless { records => $records }, $class; }
sub send {
    my ($self, $name, $type) = @_;
    my $packet = Net::DNS::Packet->new($name, $type, 'IN');
    $packet->header->qr(1);
    my $txt = $self->{records}{lc $name};
    if (defined $txt) {
        my @chunks = ($txt =~ /(.{1,250})/gs);
        $packet->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [@chunks]));
        $packet->header->rcode('NOERROR');
    } else {
        $packet->header->rcode('NXDOMAIN');
    }
    return $packet;
}
sub errorstring { return 'NXDOMAIN'; }

package main;
my ($keys_file, $message_file) = @ARGV;
open(my $kf, '<', $keys_file) or die "keys: $!";
my $records = decode_json(do { local $/; <$kf> });
Mail::DKIM::DNS::resolver(FakeResolver->new($records));

open(my $mf, '<:raw', $message_file) or die "message: $!";
my $verifier = Mail::DKIM::Verifier->new();
while (my $line = <$mf>) {
    $line =~ s/\r?\n\z/\015\012/;
    $verifier->PRINT($line);
}
$verifier->CLOSE();
my $ok = 0;
my $count = 0;
foreach my $signature ($verifier->signatures) {
    $count++;
    my $result = $signature->result;
    print join(" ", $result, $signature->domain, $signature->selector, $signature->algorithm, "(" . ($signature->result_detail // "") . ")"), "\n";
    $ok++ if $result eq 'pass';
}
exit(($count > 0 && $ok == $count) ? 0 : 1);
