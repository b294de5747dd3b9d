#!/usr/bin/perl
# Signs messages with Mail::DKIM (rsa-sha256), so that dkim-relay's verifier meets a second
# independent signer besides dkimpy.
#
# usage: sign_maildkim.pl KEY.pem DOMAIN SELECTOR CANONICALIZATION OUT_DIR FILE...
# Writes OUT_DIR/<basename of FILE> = DKIM-Signature field + the message, unchanged.
use strict;
use warnings;
use File::Basename qw(basename);
use Crypt::OpenSSL::RSA;
use Mail::DKIM::PrivateKey;
use Mail::DKIM::Signer;
use Mail::DKIM::TextWrap;

my ( $key, $domain, $selector, $canon, $out_dir, @files ) = @ARGV;
die "usage: $0 KEY.pem DOMAIN SELECTOR CANON OUT_DIR FILE...\n" unless @files;

# Loaded through Crypt::OpenSSL::RSA: Mail::DKIM's own loader assumes a PKCS#1 body.
my $private_key = do {
    open my $fh, '<', $key or die "cannot read $key: $!\n";
    local $/;
    my $pem = <$fh>;
    Mail::DKIM::PrivateKey->load( Cork => Crypt::OpenSSL::RSA->new_private_key($pem) );
};

for my $file (@files) {
    open my $in, '<:raw', $file or die "cannot read $file: $!\n";
    local $/;
    my $message = <$in>;
    close $in;
    my $signer = Mail::DKIM::Signer->new(
        Algorithm => 'rsa-sha256',
        Method    => $canon,
        Domain    => $domain,
        Selector  => $selector,
        Key       => $private_key,
        Headers   => 'from:to:cc:subject:date:message-id:mime-version:content-type:reply-to',
    );
    $signer->PRINT($message);
    $signer->CLOSE;
    my $field = $signer->signature->as_string;
    $field =~ s/\015?\012/\015\012/g;
    open my $out, '>:raw', "$out_dir/" . basename($file) or die "cannot write: $!\n";
    print $out $field, "\015\012", $message;
    close $out;
}
