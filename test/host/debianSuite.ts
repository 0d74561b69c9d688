// Shared set-up of the real-Debian suites: the Docker engine, the host images and a network.
import * as path from "path";

import { mustRun, run } from "../support/processes";

const REPOSITORY = path.resolve(__dirname, "..", "..");
const ENGINE_SCRIPT = path.join(REPOSITORY, "test", "e2e", "engine.sh");
const IMAGES_SCRIPT = path.join(REPOSITORY, "test", "e2e", "images.sh");

/** The Debian releases that every host script must work on, with their local image names. */
export const RELEASES = [
    { title: "Debian 12", image: "jitsi-e2e/bookworm-host", codename: "bookworm" },
    { title: "Debian 13", image: "jitsi-e2e/trixie-host", codename: "trixie" },
] as const;

export interface DebianSuite {
    /** Bridge network that reaches the Debian mirror; the suite creates and removes it. */
    readonly network: string;
    /** Built image reference by image name, filled in by the suite's `before` hook. */
    readonly images: Map<string, string>;
}

/**
 * Registers `before` and `after` hooks in the current `describe` block. `before` starts dockerd
 * when none runs, builds or reuses the images and creates the network. `after` removes the
 * network, and stops dockerd only when this suite started it.
 */
export function useDebianSuite(networkPrefix: string): DebianSuite {
    const suite: DebianSuite = { network: `${networkPrefix}-${process.pid}`, images: new Map() };
    let engineStartedHere = false;
    let networkCreated = false;

    before(function () {
        if (process.getuid?.() !== 0) {
            throw new Error("the host tests need root: they start dockerd and build images; run them with sudo");
        }
        engineStartedHere = run("docker", ["info"]).status !== 0;
        mustRun("bash", [ENGINE_SCRIPT, "start"]);
        for (const release of RELEASES) {
            const lines = mustRun("bash", [IMAGES_SCRIPT, "build", release.image]).trim().split("\n");
            suite.images.set(release.image, lines[lines.length - 1]);
        }
        mustRun("docker", ["network", "create", suite.network]);
        networkCreated = true;
    });

    after(function () {
        if (networkCreated) {
            run("docker", ["network", "rm", suite.network]);
        }
        if (engineStartedHere) {
            run("bash", [ENGINE_SCRIPT, "stop"]);
        }
    });

    return suite;
}
