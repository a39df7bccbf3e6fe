import NIOCore
import NIOPosix

/// Probes upstreams that ``UpstreamBalancer`` has marked down with a TCP
/// connection, and puts each back into rotation once it accepts one.
final class UpstreamHealthProber: Sendable {
    private let balancer: UpstreamBalancer
    private let connectTimeout: TimeAmount
    private let task: RepeatedTask

    init(balancer: UpstreamBalancer, eventLoop: any EventLoop, checkEvery: TimeAmount, connectTimeout: TimeAmount) {
        self.balancer = balancer
        self.connectTimeout = connectTimeout
        self.task = eventLoop.scheduleRepeatedTask(initialDelay: checkEvery, delay: checkEvery) {
            [balancer, connectTimeout] _ in
            for index in balancer.upstreamsDueForProbe() {
                let endpoint = balancer.upstreams[index].endpoint
                ClientBootstrap(group: eventLoop)
                    .connectTimeout(connectTimeout)
                    .connect(host: endpoint.host, port: endpoint.port)
                    .whenComplete { result in
                        switch result {
                        case .success(let channel):
                            balancer.markUp(index)
                            channel.close(promise: nil)
                        case .failure:
                            balancer.markDown(index)
                        }
                    }
            }
        }
    }

    /// Stops probing.
    func stop() {
        self.task.cancel()
    }
}
