#!/usr/bin/env python3
"""Test harness for the seccomp policy. Runs the catalogue's programs (hello, template, and per-language
extras: threads, subprocesses, pipes, loopback TCP, Unix sockets) through run-sandboxed.sh, with and
without the filter in $FILTER_PATH, and prints PASS (same output), DIFF (runs, other output) or FAIL.

    cc -std=gnu17 -O2 -Wall -Wextra -Werror -static -o /tmp/export-seccomp export-seccomp.c ../seccomp-policy.c -lseccomp
    /tmp/export-seccomp /tmp/filter.bpf
    FILTER_PATH=/tmp/filter.bpf ./language-matrix.py ../../../Languages/languages.json [language ids...]
"""
import json, os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SBX = os.path.join(HERE, 'run-sandboxed.sh')
catalogue = json.load(open(sys.argv[1]))['languages']
only = set(sys.argv[2:])

EXTRAS = {
 'c': [('threads+fork+pipe', r'''
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
static void *work(void *a) { return a; }
int main(void) {
  pthread_t t[8]; for (int i = 0; i < 8; i++) pthread_create(&t[i], 0, work, 0);
  for (int i = 0; i < 8; i++) pthread_join(t[i], 0);
  FILE *p = popen("echo child via popen", "r"); char b[64]; fgets(b, sizeof b, p); pclose(p); fputs(b, stdout);
  int s = system("echo child via system"); printf("system %d\n", s);
  return 0; }
''')],
 'cpp': [('std::thread+async', r'''
#include <future>
#include <iostream>
#include <thread>
#include <vector>
int main() { std::vector<std::thread> ts; int n[4] = {0};
  for (int i = 0; i < 4; i++) ts.emplace_back([&n, i] { n[i] = i * i; });
  for (auto &t : ts) t.join();
  auto f = std::async(std::launch::async, [] { return 42; });
  std::cout << n[3] << " " << f.get() << std::endl; }
''')],
 'python': [('threads+subprocess+sockets+multiprocessing', r'''
import os, socket, subprocess, threading, multiprocessing, asyncio
t = [threading.Thread(target=lambda: None) for _ in range(8)]; [x.start() for x in t]; [x.join() for x in t]
print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout.strip())
r, w = os.pipe(); os.write(w, b'pipe'); print(os.read(r, 4).decode())
s = socket.create_server(('127.0.0.1', 0)); c = socket.create_connection(s.getsockname()); a, _ = s.accept(); c.sendall(b'tcp'); print(a.recv(3).decode())
s6 = socket.socket(socket.AF_INET6); s6.close()
u = socket.socket(socket.AF_UNIX); u.bind('/tmp/u.sock'); u.listen(); v = socket.socket(socket.AF_UNIX); v.connect('/tmp/u.sock'); print('unix ok')
print(socket.getaddrinfo('localhost', 80, proto=socket.IPPROTO_TCP)[0][4])
with multiprocessing.Pool(2) as p: print(sum(p.map(abs, [-1, -2, 3])))
async def main():
    p = await asyncio.create_subprocess_exec('echo', 'async child', stdout=asyncio.subprocess.PIPE)
    print((await p.communicate())[0].decode().strip())
asyncio.run(main())
''')],
 'go': [('goroutines+exec+tcp', r'''package main

import (
	"fmt"
	"net"
	"os/exec"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	total := 0
	var mu sync.Mutex
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); mu.Lock(); total += i; mu.Unlock() }(i)
	}
	wg.Wait()
	fmt.Println("sum", total)
	out, err := exec.Command("echo", "child").Output()
	fmt.Println(string(out), err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil { panic(err) }
	go func() { c, _ := l.Accept(); c.Write([]byte("tcp")); c.Close() }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil { panic(err) }
	b := make([]byte, 3); c.Read(b); fmt.Println(string(b))
	c2, err := net.Dial("tcp", "localhost:"+fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	fmt.Println("localhost dial", err == nil); if c2 != nil { c2.Close() }
	ifs, err := net.Interfaces()
	fmt.Println("interfaces", len(ifs), err)
}
''')],
 'java': [('threads+process+sockets', r'''import java.io.*;
import java.net.*;
import java.util.concurrent.*;
public class Main {
  public static void main(String[] args) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    Future<Integer> f = pool.submit(() -> 6 * 7); System.out.println(f.get()); pool.shutdown();
    Process p = new ProcessBuilder("echo", "child").start();
    System.out.println(new String(p.getInputStream().readAllBytes()).trim() + " " + p.waitFor());
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
         Socket c = new Socket("localhost", s.getLocalPort()); Socket a = s.accept()) {
      c.getOutputStream().write("tcp".getBytes()); System.out.println(new String(a.getInputStream().readNBytes(3)));
    }
    System.out.println(InetAddress.getLocalHost() != null);
    System.out.println("interfaces " + java.util.Collections.list(NetworkInterface.getNetworkInterfaces()).size());
  }
}
''')],
 'javascript': [('workers+child_process+net+fs', r'''
const { Worker } = require('worker_threads');
const cp = require('child_process'); const net = require('net'); const fs = require('fs'); const os = require('os');
console.log(cp.execSync('echo child').toString().trim());
fs.writeFileSync('/tmp/x', 'file'); fs.promises.readFile('/tmp/x', 'utf8').then(s => console.log('async fs', s));
try { console.log('interfaces', Object.keys(os.networkInterfaces()).length); } catch (e) { console.log('interfaces error', e.code); }
const w = new Worker('require("worker_threads").parentPort.postMessage(7)', { eval: true });
w.on('message', m => console.log('worker', m));
const srv = net.createServer(c => { c.end('tcp'); srv.close(); }).listen(0, '127.0.0.1', () => {
  const c = net.connect(srv.address().port, 'localhost'); c.on('data', d => console.log(d.toString()));
});
cp.exec('echo async child', (e, out) => console.log(out.trim()));
''')],
 'typescript': [],
 'rust': [('threads+command+tcp', r'''use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;
fn main() {
    let hs: Vec<_> = (0..8).map(|i| thread::spawn(move || i * 2)).collect();
    let s: i32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    println!("sum {}", s);
    let out = Command::new("echo").arg("child").output().unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = thread::spawn(move || { let (mut c, _) = l.accept().unwrap(); c.write_all(b"tcp").unwrap(); });
    let mut c = TcpStream::connect(("localhost", port)).unwrap();
    let mut b = String::new(); c.read_to_string(&mut b).unwrap(); t.join().unwrap();
    println!("{}", b);
}
''')],
 'ruby': [('threads+spawn+tcp', r'''
require 'socket'
t = 4.times.map { |i| Thread.new { i * i } }; puts t.map(&:value).sum
puts `echo child`
s = TCPServer.new('127.0.0.1', 0); c = TCPSocket.new('localhost', s.addr[1]); a = s.accept; c.write('tcp'); puts a.read(3)
r, w = IO.pipe; pid = fork { w.write('forked'); exit! }; Process.wait(pid); w.close; puts r.read
''')],
 'php': [('proc+sockets', r'''<?php
echo shell_exec('echo child');
$s = stream_socket_server('tcp://127.0.0.1:0'); $name = stream_socket_get_name($s, false);
$c = stream_socket_client("tcp://$name"); $a = stream_socket_accept($s); fwrite($c, "tcp"); echo fread($a, 3), "\n";
$p = proc_open(['echo', 'proc'], [1 => ['pipe', 'w']], $pipes); echo stream_get_contents($pipes[1]); proc_close($p);
''')],
 'lua': [('popen', r'''
local p = io.popen('echo child'); print(p:read('l')); p:close()
print(os.execute('true'))
''')],
 'perl': [('fork+pipe+socket', r'''
use IO::Socket::INET;
my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0) or die $!;
my $c = IO::Socket::INET->new(PeerAddr => 'localhost', PeerPort => $s->sockport) or die $!;
my $a = $s->accept; print $c "tcp\n"; print scalar <$a>;
my $pid = open(my $fh, '-|') // die; if (!$pid) { print "forked\n"; exit 0 } print <$fh>;
print `echo child`;
''')],
 'bash': [('pipes+subshells+coproc', r'''
echo a b c | tr ' ' '\n' | sort -r | head -1
( sleep 0.1; echo sub ) & wait
coproc cat; echo coproc >&"${COPROC[1]}"; read -r line <&"${COPROC[0]}"; echo "$line"
exec 3<>/dev/tcp/127.0.0.1/1 2>/dev/null || echo 'tcp refused as expected'
''')],
}

def run(lang, name, source, stdin, filt):
    ws = tempfile.mkdtemp(prefix='iris-matrix-'); os.chmod(ws, 0o777)
    fname = lang['fileName']
    with open(os.path.join(ws, fname), 'w') as f: f.write(source)
    os.chmod(os.path.join(ws, fname), 0o666)
    envargs = []
    env = dict(lang.get('environment') or {})
    env.update({'PYTHONUNBUFFERED': '1', 'PYTHONDONTWRITEBYTECODE': '1', 'TERM': 'xterm-256color'})
    for k, v in env.items(): envargs += ['--setenv', k, v]
    penv = dict(os.environ); penv['SBX_ENV'] = ' '.join(envargs)
    if filt: penv['FILTER'] = filt
    else: penv.pop('FILTER', None)
    stem = os.path.splitext(fname)[0]
    def expand(cmd):
        out = []
        for a in cmd:
            if a == '{sources}': out.append(fname)
            else: out.append(a.replace('{file}', fname).replace('{stem}', stem))
        return out
    log = []
    ok = True
    for step in ('compile', 'run'):
        cmd = lang.get(step)
        if not cmd: continue
        p = subprocess.run([SBX, ws] + expand(cmd), input=(stdin if step == 'run' else ''), capture_output=True, text=True, env=penv, timeout=300)
        log.append((step, p.returncode, p.stdout, p.stderr))
        if p.returncode != 0: ok = False; break
    shutil.rmtree(ws, ignore_errors=True)
    return ok, log

results = []
for lang in catalogue:
    if only and lang['id'] not in only: continue
    progs = [('hello', lang['hello'], ''), ('template', lang['template'], 'Ada\n')]
    progs += [(n, s, '') for n, s in EXTRAS.get(lang['id'], [])]
    for name, src, stdin in progs:
        r_nofilter = run(lang, name, src, stdin, None)
        r_filter = run(lang, name, src, stdin, os.environ['FILTER_PATH'])
        out_nf = [l[2] for l in r_nofilter[1]]; out_f = [l[2] for l in r_filter[1]]
        same = out_nf == out_f
        status = 'PASS' if r_filter[0] and same else ('DIFF' if r_filter[0] else 'FAIL')
        if not r_nofilter[0]: status += '(nofilter also fails)'
        print(f"{status:5} {lang['id']:10} {name}", flush=True)
        if status != 'PASS' or os.environ.get('VERBOSE'):
            for step, rc, so, se in r_filter[1]:
                print(f"   filter {step} rc={rc}\n   stdout: {so[-800:]!r}\n   stderr: {se[-1500:]!r}")
            if not same:
                for step, rc, so, se in r_nofilter[1]:
                    print(f"   nofilter {step} rc={rc}\n   stdout: {so[-800:]!r}\n   stderr: {se[-800:]!r}")
