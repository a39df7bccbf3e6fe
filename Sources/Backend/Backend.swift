/// The loopback inference server: GGUF models on the CPU, served over the
/// OpenAI and Anthropic APIs.
public enum BackendModule {}
