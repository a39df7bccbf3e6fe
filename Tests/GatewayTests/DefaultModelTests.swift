import Gateway
import Testing

/// Which model `lmgate serve`, `backend` and `run` serve when none is named.
@Suite struct DefaultModelTests {
    @Test func aNamedModelIsServedWhetherOrNotTheDefaultIsInstalled() throws {
        for installed in [false, true] {
            let path = try DefaultModel.path(
                named: "other.gguf", currentDirectory: "/repo", setting: "--model FILE.gguf", exists: { _ in installed })
            #expect(path == "other.gguf")
        }
    }

    @Test func theInstalledDefaultIsServedFromTheCurrentDirectorysModelsFolder() throws {
        var asked: [String] = []
        for directory in ["/repo", "/repo/"] {
            let path = try DefaultModel.path(named: nil, currentDirectory: directory, setting: "--model FILE.gguf") {
                asked.append($0)
                return true
            }
            #expect(path == "/repo/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        }
        #expect(asked == ["/repo/models/SmolLM2-135M-Instruct.Q4_1.gguf", "/repo/models/SmolLM2-135M-Instruct.Q4_1.gguf"])
    }

    @Test func withoutEitherTheErrorSaysHowToNameAModelAndHowToInstallTheDefault() {
        let error = #expect(throws: DefaultModelMissing.self) {
            try DefaultModel.path(
                named: nil, currentDirectory: "/somewhere", setting: "--model FILE.gguf or backend.model in /h/lmgate.yaml",
                exists: { _ in false })
        }
        let message = error?.description ?? ""
        #expect(message.hasPrefix("no model: give --model FILE.gguf or backend.model in /h/lmgate.yaml"))
        #expect(message.contains("scripts/setup"))
        #expect(message.contains("models/SmolLM2-135M-Instruct.Q4_1.gguf in the current directory, /somewhere"))
    }
}
