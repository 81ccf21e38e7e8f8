#!/usr/bin/perl
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
use CGI;
my $q = CGI->new;
print $q->header('text/plain'), "DONE\n";
