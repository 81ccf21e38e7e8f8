#!/usr/bin/perl
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
use strict;
use warnings;
use CGI;
my $q = CGI->new;
my $method = $q->request_method;
if ($method eq 'PUT' || $method eq 'DELETE') {
	my $data = $q->param('PUTDATA') // '';
	print $q->header(-type => 'text/plain', -status => ($method eq 'PUT' ? '201 Created' : '200 OK'));
	print "METHOD=$method\nLEN=", length($data), "\nDATA=$data\n";
	exit;
}
my $action = $q->param('action') // '';
if ($action eq 'redirect') {
	print $q->redirect('done.cgi');
	exit;
}
if ($action eq 'upload') {
	my $fh = $q->upload('file');
	my $n = 0;
	my $sum = 0;
	if ($fh) {
		binmode $fh;
		while (read($fh, my $buf, 65536)) { $n += length $buf; $sum = ($sum + unpack('%32C*', $buf)) % 65536; }
	}
	print $q->header('text/plain'), "FILE=", scalar($q->param('file')), "\nSIZE=$n\nSUM=$sum\n";
	exit;
}
print $q->header(-type => 'text/html', -charset => 'utf-8');
print "<p>hello ", $q->escapeHTML($q->param('name') // 'nobody'), "</p>\n";
print "<p>script ", $q->url(-absolute => 1), " path ", ($q->path_info // ''), "</p>\n";
