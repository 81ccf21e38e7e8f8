package pyhttp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// readJSONLines waits until the JSON log file has a line that match
// accepts, and returns that line.
func readJSONLines(t *testing.T, path string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var m map[string]any
				if json.Unmarshal(sc.Bytes(), &m) == nil && match(m) {
					f.Close()
					return m
				}
			}
			f.Close()
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(path)
			t.Fatalf("no matching line in %s:\n%s", path, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// observeConfig: the CGI site logs its access log with the
// {http.pyhttp.cgi.*} placeholders and its server has log_credentials; a
// second site on another server has neither. The module's own lines go, at
// debug level, to modLog.
func observeConfig(root, accessLog, modLog string) string {
	return fmt.Sprintf(`{
	admin unix/%s
	http_port %d
	https_port %d
	grace_period 1ns
	skip_install_trust
	auto_https off
	servers :%d {
		log_credentials
	}
	log cgi {
		output file %s
		format json
		level DEBUG
		include http.handlers.pyhttp_cgi
	}
}
http://:%d {
	root * %s
	log {
		output file %s
		format json
	}
	log_append cgi_script {http.pyhttp.cgi.script}
	log_append cgi_pid {http.pyhttp.cgi.pid}
	log_append cgi_exit_code {http.pyhttp.cgi.exit_code}
	log_append cgi_duration_ms {http.pyhttp.cgi.duration_ms}
	pyhttp_cgi
}
http://:%d {
	root * %s
	pyhttp_cgi
}
`, adminSocket, simplePort, 9443+portOffset, cgiPort, modLog, cgiPort, root, accessLog, simplePort, root)
}

// The access log shows the script, pid, exit code and run time of the
// request's CGI script (log_append evaluates after the handler returned),
// every line the handler writes about a script names the request (method,
// URI, client IP and the access log's request id), and log_credentials is
// the request's server's: only that server's lines show the cookie.
func TestCGIPlaceholdersAndRequestLogs(t *testing.T) {
	root := observeTree(t)
	logs := t.TempDir()
	accessLog, modLog := filepath.Join(logs, "access.log"), filepath.Join(logs, "cgi.log")
	startCaddyRaw(t, observeConfig(root, accessLog, modLog))

	for _, port := range []int{cgiPort, simplePort} {
		url := fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/log.sh?port=%d", port, port)
		resp, body := do(t, "GET", url, nil, "Cookie", "session=s3cret")
		if resp.StatusCode != 200 || string(body) != "session=s3cret\n" {
			t.Fatalf("%s: got %d %q", url, resp.StatusCode, body)
		}
	}

	script := filepath.Join(root, "cgi-bin", "log.sh")
	access := readJSONLines(t, accessLog, func(m map[string]any) bool { return m["msg"] == "handled request" })
	if access["cgi_script"] != script || access["cgi_exit_code"] != "4" {
		t.Errorf("access log cgi_script=%v cgi_exit_code=%v, want %s and 4", access["cgi_script"], access["cgi_exit_code"], script)
	}
	pid, err := strconv.Atoi(fmt.Sprint(access["cgi_pid"]))
	if err != nil || pid <= 0 {
		t.Errorf("access log cgi_pid = %v, want a pid", access["cgi_pid"])
	}
	if ms, err := strconv.Atoi(fmt.Sprint(access["cgi_duration_ms"])); err != nil || ms < 0 {
		t.Errorf("access log cgi_duration_ms = %v, want milliseconds", access["cgi_duration_ms"])
	}
	uuid, _ := access["uuid"].(string)
	request, _ := access["request"].(map[string]any)
	if uuid == "" || request == nil {
		t.Fatalf("access log has no uuid or request: %v", access)
	}

	uri := fmt.Sprintf("/cgi-bin/log.sh?port=%d", cgiPort)
	for _, msg := range []string{"log line from script", "cgi script exited abnormally", "starting cgi script"} {
		line := readJSONLines(t, modLog, func(m map[string]any) bool {
			return (m["msg"] == msg || m["line"] == msg) && m["uri"] == uri
		})
		if line["method"] != "GET" || line["client_ip"] != request["client_ip"] || line["request_id"] != uuid {
			t.Errorf("%q: method=%v client_ip=%v request_id=%v, want GET, %v, %v", msg,
				line["method"], line["client_ip"], line["request_id"], request["client_ip"], uuid)
		}
		if msg == "cgi script exited abnormally" && (line["pid"] != float64(pid) || line["exit_code"] != float64(4)) {
			t.Errorf("exit line pid=%v exit_code=%v, want %d and 4", line["pid"], line["exit_code"], pid)
		}
	}

	for port, want := range map[int]string{cgiPort: "session=s3cret", simplePort: ""} {
		uri := fmt.Sprintf("/cgi-bin/log.sh?port=%d", port)
		line := readJSONLines(t, modLog, func(m map[string]any) bool { return m["msg"] == "starting cgi script" && m["uri"] == uri })
		env, _ := line["env"].(map[string]any)
		if got := env["HTTP_COOKIE"]; got != want {
			t.Errorf("server on port %d logged HTTP_COOKIE=%q, want %q", port, got, want)
		}
	}
}

// startCaddyRaw loads a complete Caddyfile (with its own global options)
// into the shared in-process Caddy.
func startCaddyRaw(t *testing.T, caddyfile string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	if err := loadCaddyfile(caddyfile); err != nil {
		t.Fatalf("loading the config: %v", err)
	}
}
