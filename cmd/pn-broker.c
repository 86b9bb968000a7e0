/*
 * pn-broker — an embedded Kafka for development, demos and tests.
 *
 * It starts librdkafka's mock cluster: N Kafka-protocol brokers on
 * loopback, inside this process, with the topics it is told to create.
 * It prints the bootstrap list (and writes it to a file for scripts), then
 * runs until SIGINT or SIGTERM.  SIGUSR1 takes every broker down and
 * SIGUSR2 brings them back, for fault tests.  Messages live in memory only,
 * about 5 MB or 100,000 messages per partition (older ones vanish without
 * an error): never a production broker.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "pn_err.h"
#include "pn_num.h"
#include "pn_opt.h"
#include "pn_signal.h"

static const char usage_text[] =
	"usage: pn-broker [-n BROKERS] [-t TOPIC[:PARTITIONS]]... [-w FILE] [-qv]\n";

static const struct pn_opt_text help_text = {
	.usage = usage_text,
	.about = "Run an in-memory Kafka cluster (librdkafka's mock cluster) for "
		 "development.\n",
	.epilog = "SIGUSR1 takes all brokers down, SIGUSR2 brings them up; SIGTERM stops.\n",
};

struct opts {
	int brokers;
	char **topics;		/* "name" or "name:partitions" */
	int ntopics;
	const char *bootstrap_file;
};

/* The last of SIGUSR1 (down) and SIGUSR2 (up) taken wins, however fast they come. */
static volatile sig_atomic_t want_change, want_up;

static void on_usr(int sig)
{
	want_up = sig == SIGUSR2;
	want_change = 1;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct pn_opt options[] = {
		PN_OPT_INT('n', "brokers", "N", "number of brokers (default 1)", &o->brokers, 1, 16,
			   .bad = "bad broker count '%s' (1 to 16)"),
		PN_OPT_LIST('t', "topic", "NAME[:PARTS]", "create a topic (default 1 partition; "
			    "repeatable)", &o->topics, &o->ntopics),
		PN_OPT_STRING('w', "bootstrap-file", "FILE", "write the bootstrap list to FILE",
			      &o->bootstrap_file),
		PN_OPT_COMMON,
		PN_OPT_END,
	};
	int first;

	memset(o, 0, sizeof(*o));
	o->brokers = 1;
	first = pn_opt_parse(argc, argv, options, &help_text);
	if (first < argc)
		pn_usage_error(usage_text, "unexpected argument '%s'", argv[first]);
}

static void create_topic(rd_kafka_mock_cluster_t *mc, const struct opts *o, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *name = colon ? pn_strndup(spec, colon - spec) : pn_strdup(spec);
	int64_t parts = 1;
	rd_kafka_resp_err_t err;

	if (!*name || (colon && pn_parse_int(colon + 1, 1, 100000, &parts)))
		pn_usage_error(usage_text, "bad topic '%s': expected NAME[:PARTITIONS]", spec);
	err = rd_kafka_mock_topic_create(mc, name, (int)parts, o->brokers < 3 ? o->brokers : 3);
	if (err)
		pn_die(PN_EX_CONFIG, "cannot create topic '%s': %s", name, rd_kafka_err2str(err));
	pn_info("created topic '%s' with %d partitions", name, (int)parts);
	free(name);
}

/* Written whole or not at all: scripts poll for the file. */
static void write_bootstrap_file(const char *path, const char *bootstraps)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", bootstraps) < 0 || fflush(f) || fsync(fileno(f)) ||
	    fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		pn_die(PN_EX_IOERR, "cannot write bootstrap file '%s': %s", path, strerror(errno));
	}
}

/*
 * librdkafka 2.0.2 starts the mock cluster's thread with its caller's signal
 * mask, and that thread exits when a signal interrupts its poll ("Mock
 * cluster failed to poll ... Interrupted system call"); every later call
 * on the cluster then waits for it for ever.  So the thread starts with
 * every signal blocked, and they all reach this one.
 */
static rd_kafka_mock_cluster_t *start_mock_cluster(rd_kafka_t *rk, int brokers)
{
	sigset_t all, caller;
	rd_kafka_mock_cluster_t *mc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &caller);
	mc = rd_kafka_mock_cluster_new(rk, brokers);
	pthread_sigmask(SIG_SETMASK, &caller, NULL);
	return mc;
}

static void set_all_brokers(rd_kafka_mock_cluster_t *mc, int brokers, int up)
{
	for (int id = 1; id <= brokers; id++) {
		if (up)
			rd_kafka_mock_broker_set_up(mc, id);
		else
			rd_kafka_mock_broker_set_down(mc, id);
	}
	pn_info("brokers %s", up ? "up" : "down");
}

int main(int argc, char **argv)
{
	struct opts o;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	char errstr[512];
	const char *bootstraps;
	struct sigaction sa;

	pn_set_progname(argv[0]);
	parse_options(&o, argc, argv);
	pn_signal_install();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	/* The mock cluster lives inside a client handle; this one only hosts it. */
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "client.id", "pn-broker", NULL, 0);
	/* its own client has no brokers to talk to: hide that notice */
	rd_kafka_conf_set(conf, "log_level", "4", NULL, 0);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {	/* rd_kafka_new takes conf only when it succeeds */
		rd_kafka_conf_destroy(conf);
		pn_die(PN_EX_FAILED, "cannot create the Kafka handle: %s", errstr);
	}
	mc = start_mock_cluster(rk, o.brokers);
	if (!mc)
		pn_die(PN_EX_FAILED, "cannot start the mock cluster");
	for (int i = 0; i < o.ntopics; i++)
		create_topic(mc, &o, o.topics[i]);

	bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
	if (o.bootstrap_file)
		write_bootstrap_file(o.bootstrap_file, bootstraps);
	printf("%s\n", bootstraps);
	if (fflush(stdout))
		pn_die(PN_EX_IOERR, "cannot write to standard output: %s", strerror(errno));
	pn_info("%d broker(s) at %s; in memory, for development only", o.brokers, bootstraps);

	while (!pn_stop) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };

		nanosleep(&tick, NULL);
		/* cleared first: a signal from here on asks again */
		if (want_change) {
			want_change = 0;
			set_all_brokers(mc, o.brokers, want_up);
		}
	}

	if (o.bootstrap_file)
		unlink(o.bootstrap_file);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	free(o.topics);
	return PN_EX_OK;
}
