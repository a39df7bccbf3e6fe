/// The authenticating TLS reverse proxy: TLS on OpenSSL, access control and
/// streaming forwarding to one or more OpenAI-compatible upstreams.
public enum ProxyModule {}
