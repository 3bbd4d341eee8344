export { startFleet, hardwareOf, type Fleet, type FleetOptions, type SimCluster } from './fleet.js';
export { startControl, fleetState, applyDrift, applyFault, type ControlServer } from './control.js';
export { Scenario, parseScenario, type ScenarioCluster, type ScenarioNode } from './scenario.js';
export { BUILTIN_SCENARIOS } from './scenarios.js';
