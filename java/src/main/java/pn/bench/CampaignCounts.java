package pn.bench;

/** Placeholder replaced by the Kafka Streams peer. */
public final class CampaignCounts {
    public static void main(String[] args) {
    }
}
