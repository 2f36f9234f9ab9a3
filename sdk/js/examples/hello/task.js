#!/usr/bin/env node
// The hello task in JavaScript: every node's result is "Hello, World!".
"use strict";

const { run, sha256 } = require("./gradual-task.js");

const HELLO = Buffer.from("Hello, World!");

run({
  work: () => HELLO,
  audit: (round, submission, result) => {
    if (!result.equals(HELLO)) return { valid: false, reason: "the result is not Hello, World!" };
    return sha256(result).equals(submission.digest);
  },
});
