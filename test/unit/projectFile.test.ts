import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

import * as yaml from "js-yaml";

import { CONFIG_KEYS, DEFAULTS, SECRET_KEYS } from "../../components/config";
import { REPOSITORY } from "../support/program";

interface KeySchema {
    type?: string;
    description?: string;
    default?: unknown;
    secret?: boolean;
}

// DEFAULTS names some values differently from the config keys they belong to.
const DEFAULT_FOR_KEY: Record<string, keyof typeof DEFAULTS> = {
    tlsMode: "tlsMode",
    tlsKeyAlgorithm: "tlsKeyAlgorithm",
    tlsValidityDays: "tlsValidityDays",
    tlsEarlyRenewalDays: "tlsEarlyRenewalDays",
};

describe("Pulumi.yaml config schema", () => {
    const project = yaml.load(fs.readFileSync(path.join(REPOSITORY, "Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, KeySchema> };

    it("lists exactly the keys the program reads", () => {
        assert.deepStrictEqual(Object.keys(project.config).sort(), [...CONFIG_KEYS].sort());
    });

    it("describes and types every key", () => {
        for (const [key, schema] of Object.entries(project.config)) {
            assert.ok(schema.description, `${key} has no description`);
            assert.ok(schema.description.length > 20, `${key} has a description of under 20 characters`);
            assert.ok(["string", "integer", "boolean", "array"].includes(String(schema.type)), `${key} has type ${String(schema.type)}`);
        }
    });

    it("states the same defaults as the code", () => {
        for (const [key, schema] of Object.entries(project.config)) {
            const defaultKey = DEFAULT_FOR_KEY[key] ?? (key in DEFAULTS ? key as keyof typeof DEFAULTS : undefined);
            if (defaultKey === undefined) {
                assert.strictEqual(schema.default, undefined, `${key} has a default in Pulumi.yaml but none in DEFAULTS`);
                continue;
            }
            assert.strictEqual(schema.default, DEFAULTS[defaultKey], `default of ${key}`);
        }
    });

    it("marks the secret keys secret", () => {
        const secret = Object.entries(project.config).filter(([, schema]) => schema.secret === true).map(([key]) => key);
        assert.deepStrictEqual(secret.sort(), [...SECRET_KEYS].sort());
    });
});
