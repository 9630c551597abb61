#!/usr/bin/env node
// Validates quire manifests against the RWPM schemas (draft-07), offline.
// usage: node validate.js MANIFEST.json...   (schemas from $QR_SHARED_DIR/schemas)
// Recipe (docs: ../shared/reference/ebook-formats.md §1): Ajv with strict off and
// allErrors, ajv-formats for uri/uri-reference/date-time, every schema file of
// webpub-manifest/ and opds/ added, then the publication schema by its $id.
// Exit 0 when every manifest is valid, 1 otherwise (errors on stdout), 2 on setup errors.
"use strict";
const fs = require("fs");
const path = require("path");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

const ENTRY = "https://readium.org/webpub-manifest/schema/publication.schema.json";

function schemaFiles(dir) {
    const out = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...schemaFiles(p));
        else if (e.name.endsWith(".schema.json")) out.push(p);
    }
    return out.sort();
}

function main(argv) {
    const shared = process.env.QR_SHARED_DIR;
    if (!shared) {
        console.error("QR_SHARED_DIR is not set (the folder holding schemas/)");
        return 2;
    }
    const root = path.join(shared, "schemas");
    if (argv.length === 0) {
        console.error("usage: validate.js MANIFEST.json...");
        return 2;
    }
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    for (const f of schemaFiles(root)) ajv.addSchema(JSON.parse(fs.readFileSync(f, "utf8")));
    const validate = ajv.getSchema(ENTRY);
    if (!validate) {
        console.error("schema " + ENTRY + " not found under " + root);
        return 2;
    }
    let bad = 0;
    for (const m of argv) {
        let doc;
        try {
            doc = JSON.parse(fs.readFileSync(m, "utf8"));
        } catch (e) {
            console.log(m + ": not JSON: " + e.message);
            bad++;
            continue;
        }
        if (validate(doc)) {
            console.log(m + ": valid");
        } else {
            bad++;
            for (const e of validate.errors)
                console.log(m + ": " + (e.instancePath || "/") + " " + e.message +
                    (e.params ? " " + JSON.stringify(e.params) : ""));
        }
    }
    return bad ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
