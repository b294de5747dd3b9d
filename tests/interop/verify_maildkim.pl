#!/usr/bin/perl
# Verifies DKIM signatures with Mail::DKIM (an independent implementation), keys taken from files
# instead of DNS so that the test needs no network.
#
# usage: verify_maildkim.pl KEY_DIR FILE...
#   KEY_DIR/<selector>._domainkey.<domain>.txt holds the TXT record value.
# Prints one line per file:
#   FILE<TAB>OVERALL<TAB>sig1;sig2;...   where sigN = result:d=D:s=S:a=ALG:detail
# Mail::DKIM 1.20230212 (Debian 12) supports rsa-sha256 only; ed25519 signatures show up as
# "invalid" with an "unsupported" detail, and the caller decides what that means.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

my $key_dir = shift @ARGV or die "usage: $0 KEY_DIR FILE...\n";

{
    no warnings 'redefine';
    # The test's keys live in files: answer Mail::DKIM's TXT queries from KEY_DIR.
    *Mail::DKIM::DNS::query = sub {
        my ( $name, $type ) = @_;
        $name =~ s/\.$//;
        my $path = "$key_dir/$name.txt";
        if ( uc($type) ne 'TXT' || !-f $path ) {
            $@ = 'NXDOMAIN';
            return;
        }
        open my $fh, '<', $path or die "cannot read $path: $!\n";
        local $/;
        my $txt = <$fh>;
        close $fh;
        $txt =~ s/[\r\n]+\z//;
        # A TXT character-string holds at most 255 octets; long records come split as in DNS.
        my @chunks = unpack '(A255)*', $txt;
        my $rr = Net::DNS::RR->new( name => $name, type => 'TXT', txtdata => [@chunks] );
        $@ = 'NOERROR';
        return ($rr);
    };
}

for my $file (@ARGV) {
    my $dkim = Mail::DKIM::Verifier->new();
    open my $fh, '<:raw', $file or die "cannot read $file: $!\n";
    $dkim->load($fh);
    close $fh;
    my @sigs;
    for my $sig ( $dkim->signatures ) {
        my $detail = $sig->result_detail // '';
        $detail =~ s/[\t\r\n;]/ /g;
        push @sigs, join( ':',
            $sig->result // 'none',
            'd=' . ( $sig->domain    // '' ),
            's=' . ( $sig->selector  // '' ),
            'a=' . ( $sig->algorithm // '' ), $detail );
    }
    print join( "\t", $file, $dkim->result // 'none', join( ';', @sigs ) ), "\n";
}
