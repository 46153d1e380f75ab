// Entry point of `npm run sim -- …`.
import { simCommand } from "./command.js";

process.exitCode = simCommand(process.argv.slice(2));
