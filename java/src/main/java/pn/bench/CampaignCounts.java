package pn.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The seed's ksqlDB query as a Kafka Streams application, pn's JVM peer in
 * make bench (scripts/bench-streams.sh):
 *
 * <pre>
 *   SELECT source_id AS id, COUNT(delivered_time) AS impressions,
 *          COUNT(clicked_time) AS clicks
 *   FROM ping WHERE source = 'campaign' GROUP BY source_id EMIT CHANGES
 * </pre>
 *
 * Usage: CampaignCounts BOOTSTRAP INPUT OUTPUT APPLICATION_ID STATE_DIR
 *
 * <p>The values are the JSON objects pn-produce writes, one per message; the
 * topic is keyed by source_id (pn-produce --key source_id), so the table is
 * grouped by the key with no repartition topic, as pn-aggregate reads the
 * partitions it owns; a record whose key is not its source_id stops the run.
 * The JSON is read with Jackson's streaming parser, which looks at the four
 * fields the query needs and skips the rest: the JVM's counterpart of pn's
 * in-place tokenizer, not a tree per record.  The changelog (key source_id,
 * value {"id":..,"impressions":..,"clicks":..}) goes to OUTPUT with Kafka
 * Streams' default caching, commit interval and threads.
 *
 * <p>At start it asks for INPUT's first and end offsets; once every
 * partition's last record has been applied it closes the application (which
 * flushes the cache to OUTPUT and commits) and prints one JSON line on
 * stdout: the records applied, the seconds from the first record to the last
 * applied, and to the end of the close, and the process's CPU seconds from
 * the first record to the last applied.  Exit status 0 done, 1 failed,
 * 64 usage.
 */
public final class CampaignCounts {
    /** What the query needs of a ping. */
    static final class Ping {
        boolean campaign;
        String sourceId;
        boolean delivered;
        boolean clicked;
    }

    private static final JsonFactory JSON = new JsonFactory();

    static Ping parse(byte[] value) {
        Ping p = new Ping();
        try (JsonParser in = JSON.createParser(value)) {
            if (in.nextToken() != JsonToken.START_OBJECT)
                throw new IllegalArgumentException("value is not a JSON object");
            while (in.nextToken() == JsonToken.FIELD_NAME) {
                String name = in.currentName();
                JsonToken t = in.nextToken();
                switch (name) {
                case "source":
                    p.campaign = t == JsonToken.VALUE_STRING && "campaign".equals(in.getText());
                    break;
                case "source_id":
                    p.sourceId = t == JsonToken.VALUE_NULL ? null : in.getText();
                    break;
                case "delivered_time":
                    p.delivered = t != JsonToken.VALUE_NULL;
                    break;
                case "clicked_time":
                    p.clicked = t != JsonToken.VALUE_NULL;
                    break;
                default:
                    in.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("bad JSON value: " + e.getMessage(), e);
        }
        return p;
    }

    /** impressions and clicks, 16 bytes in the store and its changelog. */
    static final Serde<long[]> COUNTS = Serdes.serdeFrom(
            (Serializer<long[]>) (topic, c) -> c == null ? null
                    : ByteBuffer.allocate(16).putLong(c[0]).putLong(c[1]).array(),
            (Deserializer<long[]>) (topic, b) -> {
                if (b == null)
                    return null;
                ByteBuffer buf = ByteBuffer.wrap(b);
                return new long[] {buf.getLong(), buf.getLong()};
            });

    /**
     * Where the input ends, and how far the application got: each partition
     * is processed by one task at a time, so its slot has one writer.
     */
    static final class Progress {
        final Map<Integer, Long> end = new HashMap<>();
        final Map<Integer, AtomicBoolean> reached = new HashMap<>();
        final AtomicInteger remaining = new AtomicInteger();
        final LongAdder applied = new LongAdder();
        final AtomicLong firstNanos = new AtomicLong();
        volatile long lastNanos;
        // the process's CPU time (all threads: JIT, GC, clients) there
        volatile long firstCpu, lastCpu;
        final CountDownLatch done = new CountDownLatch(1);
        volatile String failure;

        void fail(String why) {
            if (failure == null)
                failure = why;
            done.countDown();
        }
    }

    /** Parses each value and, once its record is applied, notes its offset. */
    static final class Track implements FixedKeyProcessor<String, byte[], Ping> {
        private final Progress progress;
        private FixedKeyProcessorContext<String, Ping> context;

        Track(Progress progress) {
            this.progress = progress;
        }

        @Override
        public void init(FixedKeyProcessorContext<String, Ping> context) {
            this.context = context;
        }

        @Override
        public void process(FixedKeyRecord<String, byte[]> record) {
            RecordMetadata at = context.recordMetadata().orElseThrow();
            if (progress.firstNanos.get() == 0 && progress.firstNanos.compareAndSet(0, System.nanoTime()))
                progress.firstCpu = cpuNanos();
            Ping p = parse(record.value());
            if (p.campaign && !String.valueOf(p.sourceId).equals(record.key()))
                throw new IllegalStateException(String.format(
                        "%s-%d@%d: key '%s' is not source_id %s; the input must be keyed by source_id",
                        at.topic(), at.partition(), at.offset(), record.key(), p.sourceId));
            // downstream (filter, aggregate) runs inside forward
            context.forward(record.withValue(p));
            progress.applied.increment();
            if (at.offset() + 1 >= progress.end.get(at.partition())) {
                AtomicBoolean r = progress.reached.get(at.partition());
                if (r.compareAndSet(false, true) && progress.remaining.decrementAndGet() == 0) {
                    progress.lastNanos = System.nanoTime();
                    progress.lastCpu = cpuNanos();
                    progress.done.countDown();
                }
            }
        }
    }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** The first and end offsets of every partition of TOPIC. */
    static long lookUpEnds(String bootstrap, String topic, Progress progress) throws Exception {
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            Map<TopicPartition, OffsetSpec> first = new HashMap<>(), last = new HashMap<>();
            d.partitions().forEach(pi -> {
                first.put(new TopicPartition(topic, pi.partition()), OffsetSpec.earliest());
                last.put(new TopicPartition(topic, pi.partition()), OffsetSpec.latest());
            });
            Map<TopicPartition, ListOffsetsResultInfo> lo = admin.listOffsets(first).all().get();
            Map<TopicPartition, ListOffsetsResultInfo> hi = admin.listOffsets(last).all().get();
            long total = 0;
            for (TopicPartition tp : hi.keySet()) {
                long from = lo.get(tp).offset(), to = hi.get(tp).offset();
                progress.end.put(tp.partition(), to);
                progress.reached.put(tp.partition(), new AtomicBoolean(to <= from));
                if (to > from) {
                    progress.remaining.incrementAndGet();
                    total += to - from;
                }
            }
            return total;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: CampaignCounts BOOTSTRAP INPUT OUTPUT APPLICATION_ID STATE_DIR");
            System.exit(64);
        }
        String bootstrap = args[0], input = args[1], output = args[2];
        Progress progress = new Progress();
        long expected = lookUpEnds(bootstrap, input, progress);
        System.err.printf("CampaignCounts: %d records to apply in %d partitions of '%s'%n",
                expected, progress.end.size(), input);

        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .processValues(() -> new Track(progress))
                .filter((id, p) -> p.campaign)
                .groupByKey(Grouped.keySerde(Serdes.String()))
                .aggregate(() -> new long[2], (id, p, c) -> {
                    // COUNT(col) counts the non-null values
                    return new long[] {c[0] + (p.delivered ? 1 : 0), c[1] + (p.clicked ? 1 : 0)};
                }, Materialized.with(Serdes.String(), COUNTS))
                .toStream()
                .mapValues((id, c) -> c == null ? null
                        : "{\"id\":" + id + ",\"impressions\":" + c[0] + ",\"clicks\":" + c[1] + "}")
                .to(output, Produced.with(Serdes.String(), Serdes.String()));

        // Kafka Streams' defaults otherwise: caching, commit interval,
        // threads, processing guarantee
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[3]);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);

        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        streams.setUncaughtExceptionHandler(e -> {
            progress.fail(String.valueOf(e));
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.PENDING_ERROR)
                progress.fail("Kafka Streams went from " + before + " to " + now);
        });
        if (expected == 0)
            progress.done.countDown();
        long startNanos = System.nanoTime();
        streams.start();
        progress.done.await();
        // flushes the cache into OUTPUT and the store's changelog, commits
        streams.close(Duration.ofMinutes(2));
        long closedNanos = System.nanoTime();

        if (progress.failure != null) {
            System.err.println("CampaignCounts: " + progress.failure);
            System.exit(1);
        }
        long applied = progress.applied.sum();
        long first = progress.firstNanos.get();
        System.out.printf("{\"records\":%d,\"start_to_first_s\":%.3f,\"first_to_last_s\":%.3f,"
                + "\"first_to_closed_s\":%.3f,\"cpu_first_to_last_s\":%.3f}%n", applied,
                first == 0 ? 0 : (first - startNanos) / 1e9,
                first == 0 ? 0 : (progress.lastNanos - first) / 1e9,
                first == 0 ? 0 : (closedNanos - first) / 1e9,
                first == 0 ? 0 : (progress.lastCpu - progress.firstCpu) / 1e9);
        if (applied != expected) {
            System.err.printf("CampaignCounts: applied %d records, expected %d%n", applied, expected);
            System.exit(1);
        }
        System.exit(0);
    }
}
