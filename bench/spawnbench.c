/* spawnbench.c: the raw process-spawn limit a CGI server can approach.
 *
 * Usage: spawnbench PROGRAM WORKERS SECONDS
 *
 * WORKERS threads each run PROGRAM in a loop for SECONDS: posix_spawn with
 * its stdout on a pipe, read the pipe until EOF, waitpid. No HTTP, no
 * environment building, no setuid: what is left is fork/exec/exit and the
 * pipe, the floor under every CGI request. Prints the total spawns and the
 * spawns per second. The pipe is O_CLOEXEC so that a child spawned by one
 * thread does not hold another thread's write end open (which would delay
 * that thread's EOF).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *prog;
static double seconds;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long spawn_once(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1); /* dup2 clears CLOEXEC */
	char *argv[] = {(char *)prog, NULL};
	pid_t pid;
	int err = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (err != 0) {
		fprintf(stderr, "posix_spawn %s: %s\n", prog, strerror(err));
		exit(1);
	}
	char buf[4096];
	long total = 0;
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		total += n;
	close(p[0]);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s failed\n", prog);
		exit(1);
	}
	return total;
}

static void *worker(void *arg)
{
	long *count = arg;
	double end = now() + seconds;
	while (now() < end) {
		spawn_once();
		(*count)++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: spawnbench PROGRAM WORKERS SECONDS\n");
		return 2;
	}
	prog = argv[1];
	int workers = atoi(argv[2]);
	seconds = atof(argv[3]);
	if (workers < 1 || workers > 256 || seconds <= 0) {
		fprintf(stderr, "bad WORKERS or SECONDS\n");
		return 2;
	}
	if (spawn_once() <= 0) {
		fprintf(stderr, "%s wrote nothing\n", prog);
		return 1;
	}
	pthread_t t[256];
	long counts[256] = {0};
	double start = now();
	for (int i = 0; i < workers; i++)
		pthread_create(&t[i], NULL, worker, &counts[i]);
	long total = 0;
	for (int i = 0; i < workers; i++) {
		pthread_join(t[i], NULL);
		total += counts[i];
	}
	double el = now() - start;
	printf("spawns %ld seconds %.3f per_second %.1f\n", total, el, total / el);
	return 0;
}
